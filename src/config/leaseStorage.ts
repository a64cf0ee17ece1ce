import { CLOUDS } from '../clouds/clouds.js';
import type { CloudName } from '../model.js';
import { isLoopbackHost } from '../http/urls.js';

/** The host-storage settings the Functions platform defines for an identity-based AzureWebJobsStorage. */
export type LeaseStorageSetting = 'AzureWebJobsStorage__blobServiceUri' | 'AzureWebJobsStorage__accountName';

/** A storage account name: 3-24 lower-case letters and digits. */
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;

/**
 * The blob service URL of the app's own storage account, where the key rotation keeps its lease:
 * `AzureWebJobsStorage__blobServiceUri` as given, else `https://{AzureWebJobsStorage__accountName}.blob.{suffix}`
 * in the app's cloud (the settings Azure Functions reads for identity-based host storage, which the
 * Bicep in infra/ writes). `null` when neither is set: rotation then fails with
 * `rotation_lease_unavailable`, and the service itself runs on. The URI must be https (a bearer
 * token is never sent over plain http); a path is allowed only on a loopback or IP host, where it
 * names the account as the storage emulator does (`https://127.0.0.1:10000/devstoreaccount1`); a
 * query is refused, since it could be a SAS, a secret, which is never echoed back.
 */
export function parseLeaseStorage(
  setting: (name: LeaseStorageSetting) => string | undefined,
  problem: (name: LeaseStorageSetting, message: string) => void,
  cloud: CloudName,
): string | null {
  const uri = setting('AzureWebJobsStorage__blobServiceUri');
  if (uri !== undefined) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      problem(
        'AzureWebJobsStorage__blobServiceUri',
        'is not a URL; give the blob endpoint, https://{account}.blob.core.windows.net',
      );
      return null;
    }
    const ipStyle = isLoopbackHost(url.hostname) || /^\d{1,3}(\.\d{1,3}){3}$/.test(url.hostname);
    const path = url.pathname.replace(/\/+$/, '');
    if (url.protocol !== 'https:')
      problem(
        'AzureWebJobsStorage__blobServiceUri',
        'must use https, even on loopback (no Azure client sends a bearer token over http)',
      );
    else if (url.username || url.password || url.search || url.hash)
      problem(
        'AzureWebJobsStorage__blobServiceUri',
        `must be the blob endpoint alone, with no credentials or query (a SAS is not used: the app's identity is); use ${url.origin}`,
      );
    else if (path !== '' && !(ipStyle && /^\/[a-z0-9]{3,24}$/.test(path)))
      problem('AzureWebJobsStorage__blobServiceUri', `must be the blob endpoint without a path; use ${url.origin}`);
    else return `${url.origin}${path}`;
    return null;
  }
  const name = setting('AzureWebJobsStorage__accountName');
  if (name === undefined) return null;
  if (!ACCOUNT_NAME.test(name)) {
    problem(
      'AzureWebJobsStorage__accountName',
      'must be a storage account name: 3 to 24 lower-case letters and digits',
    );
    return null;
  }
  return `https://${name}.blob.${CLOUDS[cloud].storageSuffix}`;
}
