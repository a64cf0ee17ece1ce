import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { acceptedMethods, createRoutes, type Route } from '../../src/functions/routes.js';
import { createServices } from '../../src/composition.js';

const routes = createRoutes(createServices({}));
const named = (name: string): Route => routes.find((route) => route.name === name)!;

describe('the route table', () => {
  it('hands /api/openapi.json every method, so it can answer 405 itself; the others only theirs', () => {
    expect(acceptedMethods(named('openapi'))).toEqual(
      expect.arrayContaining(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']),
    );
    expect(named('openapi').methods).toEqual(['GET']);
    expect(acceptedMethods(named('token'))).toEqual(['GET', 'POST']);
    expect(acceptedMethods(named('health'))).toEqual(['GET']);
  });

  it('registers only methods the Functions worker can hand to a handler', () => {
    // app.http registers acceptedMethods(); the worker builds an HttpRequest for each call.
    for (const route of routes)
      for (const method of acceptedMethods(route))
        expect(() => new HttpRequest({ method, url: `http://localhost/api/${route.route}` })).not.toThrow();
  });
});
