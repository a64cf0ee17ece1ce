import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import GithubSlugger from 'github-slugger';
import { Lexer, marked, type MarkedToken, type Token } from 'marked';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** What a reader reaches from the front door: README.md, docs/*.md and each package's README.md. */
function markdownFiles(base: string): string[] {
  const inside = (folder: string) => (existsSync(join(base, folder)) ? readdirSync(join(base, folder)) : []);
  return [
    'README.md',
    ...inside('docs')
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`),
    ...inside('packages')
      .map((name) => `packages/${name}/README.md`)
      .filter((path) => existsSync(join(base, path))),
  ];
}

/** Narrows a token to one of marked's own kinds (the lexer makes no other without extensions). */
const is = <T extends MarkedToken['type']>(token: Token, type: T): token is Extract<MarkedToken, { type: T }> =>
  token.type === type;

/** A heading's text as GitHub renders it: code spans keep their text, links their label, HTML goes. */
function renderedText(tokens: readonly Token[]): string {
  return tokens
    .map((token) => {
      if (is(token, 'codespan') || is(token, 'escape')) return token.text;
      if (is(token, 'text')) return token.tokens === undefined ? token.text : renderedText(token.tokens);
      if (is(token, 'link') || is(token, 'strong') || is(token, 'em') || is(token, 'del'))
        return renderedText(token.tokens);
      return '';
    })
    .join('');
}

/**
 * The fragments a Markdown file answers to on GitHub: each heading's rendered text through
 * github-slugger (lower case, punctuation dropped, spaces to `-`, a repeat numbered `-1`, `-2`, …),
 * and any `id`/`name` of inline HTML.
 */
function anchorsOf(markdown: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  void marked.walkTokens(Lexer.lex(markdown), (token) => {
    if (is(token, 'heading')) anchors.add(slugger.slug(renderedText(token.tokens)));
    if (is(token, 'html'))
      for (const [, id] of token.raw.matchAll(/\s(?:id|name)="([^"]+)"/g)) if (id !== undefined) anchors.add(id);
  });
  return anchors;
}

/** Link targets of a Markdown file (links, images, reference definitions), each once, none from code. */
function linkTargets(markdown: string): Set<string> {
  const targets = new Set<string>();
  void marked.walkTokens(Lexer.lex(markdown), (token) => {
    if (is(token, 'link') || is(token, 'image') || is(token, 'def')) targets.add(token.href);
  });
  return targets;
}

/**
 * Every relative link in `files` (paths from `base`) that points at no file, or at a heading its
 * Markdown file does not have, as `file: target (why)`. Links with a scheme (`https:`, `mailto:`)
 * or protocol-relative ones are not followed.
 */
function deadLinks(base: string, files: readonly string[]): string[] {
  const anchors = new Map<string, Set<string>>();
  const anchorsIn = (path: string) => {
    let found = anchors.get(path);
    if (found === undefined) {
      found = anchorsOf(readFileSync(path, 'utf8'));
      anchors.set(path, found);
    }
    return found;
  };
  const dead: string[] = [];
  for (const file of files) {
    const from = join(base, file);
    for (const target of linkTargets(readFileSync(from, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(target)) continue;
      const hash = target.indexOf('#');
      const pathPart = (hash === -1 ? target : target.slice(0, hash)).replace(/\?.*$/, '');
      const fragment = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const decoded = decodeURIComponent(pathPart);
      const to =
        decoded === '' ? from : decoded.startsWith('/') ? join(base, decoded) : resolve(dirname(from), decoded);
      if (!existsSync(to)) dead.push(`${file}: ${target} (no such file)`);
      else if (fragment !== undefined && fragment !== '' && to.endsWith('.md') && !anchorsIn(to).has(fragment))
        dead.push(`${file}: ${target} (no heading #${fragment})`);
    }
  }
  return dead;
}

describe('links in the README and docs/', () => {
  it('finds the front door, docs/ and the package READMEs', () => {
    const files = markdownFiles(root);
    expect(files).toContain('README.md');
    expect(files).toContain('docs/api.md');
    expect(files).toContain('packages/client/README.md');
  });

  it('has no dead relative link: every file exists and every #anchor is a heading there', () => {
    expect(deadLinks(root, markdownFiles(root))).toEqual([]);
  });

  it('keeps the README a front door: at most 400 lines, the rest in docs/', () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8').split('\n').length).toBeLessThanOrEqual(400);
  });
});

describe('the link check itself', () => {
  const fixture = mkdtempSync(join(tmpdir(), 'doc-links-'));
  afterAll(() => {
    rmSync(fixture, { recursive: true, force: true });
  });
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(fixture, path)), { recursive: true });
    writeFileSync(join(fixture, path), text);
  };

  it('slugs headings as GitHub does', () => {
    const anchors = anchorsOf(
      [
        '# Troubleshooting: `npm run doctor`',
        '## `GET /api/token/{resource}` (POST works too)',
        '## Errors',
        '## Errors',
        '## Telemetry: what is sent, and how',
        '### A & B',
        '### [Linked](elsewhere.md) *emphasis* and _under_score_',
        '## Schéma déjà vu',
        '```sh',
        '# not a heading',
        '```',
        '<a id="kept-by-hand"></a>',
      ].join('\n\n'),
    );
    expect([...anchors]).toEqual([
      'troubleshooting-npm-run-doctor',
      'get-apitokenresource-post-works-too',
      'errors',
      'errors-1',
      'telemetry-what-is-sent-and-how',
      'a--b',
      'linked-emphasis-and-under_score',
      'schéma-déjà-vu',
      'kept-by-hand',
    ]);
  });

  it('reports a missing file and a missing heading, and leaves code, external links and good links alone', () => {
    write('README.md', '# Top\n\n[ok](docs/a.md#section-one) [self](#top) [gone](docs/missing.md) [folder](docs/)\n');
    write(
      'docs/a.md',
      [
        '# A',
        '## Section one',
        '[bad anchor](../README.md#nowhere) [external](https://example.com/x.md#y) [mail](mailto:a@b.c)',
        '[image](../pic.png) [encoded](b%20c.md#title) [ref][r]',
        '`[in code](nope.md)`',
        '```md\n[in a block](nope.md)\n```',
        '[r]: ../other.md',
      ].join('\n\n'),
    );
    write('docs/b c.md', '# Title\n');
    expect(deadLinks(fixture, ['README.md', 'docs/a.md'])).toEqual([
      'README.md: docs/missing.md (no such file)',
      'docs/a.md: ../README.md#nowhere (no heading #nowhere)',
      'docs/a.md: ../pic.png (no such file)',
      'docs/a.md: ../other.md (no such file)',
    ]);
  });
});
