import { describe, expect, it } from 'vitest';
import { ConfigurationError, loadConfig, type ConfigProblem, type Environment } from '../../src/config/settings.js';

const BASE: Environment = {
  AUTH_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  AUTH_AUDIENCES: 'api://token-vending',
  KEY_VAULT_URI: 'https://kv.vault.azure.net',
  TOKEN_RESOURCES: JSON.stringify([
    { name: 'speech', kind: 'speech', region: 'japanwest', secretName: 'speech-key', allowedRoles: ['Speech.Token'] },
  ]),
};

const leaseUrl = (environment: Environment) => loadConfig({ ...BASE, ...environment }).rotation.leaseBlobServiceUrl;

function problems(environment: Environment): ConfigProblem[] {
  try {
    loadConfig({ ...BASE, ...environment });
  } catch (error) {
    if (error instanceof ConfigurationError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe("the rotation lease's storage: the host's own AzureWebJobsStorage", () => {
  it("AzureWebJobsStorage__accountName, as Azure Functions has it: the blob endpoint in the app's cloud", () => {
    expect(leaseUrl({ AzureWebJobsStorage__accountName: 'stdrift' })).toBe('https://stdrift.blob.core.windows.net');
    expect(
      leaseUrl({ AzureWebJobsStorage__accountName: 'stdrift', AUTH_AUTHORITY_HOST: 'https://login.chinacloudapi.cn' }),
    ).toBe('https://stdrift.blob.core.chinacloudapi.cn');
    expect(
      leaseUrl({
        AzureWebJobsStorage__accountName: 'stdrift',
        AUTH_AUTHORITY_HOST: 'https://login.microsoftonline.us',
      }),
    ).toBe('https://stdrift.blob.core.usgovcloudapi.net');
  });

  it('AzureWebJobsStorage__blobServiceUri wins, as given; the emulator style names the account in the path', () => {
    expect(
      leaseUrl({
        AzureWebJobsStorage__accountName: 'stdrift',
        AzureWebJobsStorage__blobServiceUri: 'https://stcustom.blob.core.windows.net/',
      }),
    ).toBe('https://stcustom.blob.core.windows.net');
    expect(leaseUrl({ AzureWebJobsStorage__blobServiceUri: 'https://127.0.0.1:10000/devstoreaccount1' })).toBe(
      'https://127.0.0.1:10000/devstoreaccount1',
    );
  });

  it('neither (or blank): none, and the service itself runs on', () => {
    expect(leaseUrl({})).toBeNull();
    expect(leaseUrl({ AzureWebJobsStorage__accountName: ' ', AzureWebJobsStorage__blobServiceUri: '' })).toBeNull();
  });

  it('refuses plain http, a query (a SAS is never echoed), a path on a named host, and a malformed account name', () => {
    const sas = 'https://stdrift.blob.core.windows.net/?sv=2024-11-04&sig=c2VjcmV0';
    const found = [
      ...problems({ AzureWebJobsStorage__blobServiceUri: 'http://127.0.0.1:10000/devstoreaccount1' }),
      ...problems({ AzureWebJobsStorage__blobServiceUri: sas }),
      ...problems({ AzureWebJobsStorage__blobServiceUri: 'https://stdrift.blob.core.windows.net/leases' }),
      ...problems({ AzureWebJobsStorage__blobServiceUri: 'not a url' }),
      ...problems({ AzureWebJobsStorage__accountName: 'St_Drift' }),
    ];
    expect(found.map((p) => [p.setting, p.message])).toEqual([
      ['AzureWebJobsStorage__blobServiceUri', expect.stringContaining('must use https, even on loopback')],
      [
        'AzureWebJobsStorage__blobServiceUri',
        "must be the blob endpoint alone, with no credentials or query (a SAS is not used: the app's identity is); use https://stdrift.blob.core.windows.net",
      ],
      [
        'AzureWebJobsStorage__blobServiceUri',
        'must be the blob endpoint without a path; use https://stdrift.blob.core.windows.net',
      ],
      ['AzureWebJobsStorage__blobServiceUri', expect.stringContaining('is not a URL')],
      ['AzureWebJobsStorage__accountName', 'must be a storage account name: 3 to 24 lower-case letters and digits'],
    ]);
    expect(JSON.stringify(found)).not.toContain('c2VjcmV0');
  });
});
