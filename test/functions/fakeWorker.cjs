// What the Azure Functions Node worker does before it loads an app (azure-functions-nodejs-worker,
// setupCoreModule): it serves the built-in module '@azure/functions-core' through CommonJS require.
// This fake records what the app registers and prints it as one JSON line when the app is loaded.
const Module = require('node:module');
const { pathToFileURL } = require('node:url');

const registered = { programmingModel: null, functions: [] };
const disposable = { dispose() {} };
const core = {
  version: '3.10.1',
  hostVersion: '4.1040.0',
  registerHook: () => disposable,
  setProgrammingModel: (model) => {
    registered.programmingModel = `${model.name}@${model.version}`;
  },
  getProgrammingModel: () => undefined,
  log: () => {},
  registerFunction: (metadata) => {
    registered.functions.push(metadata);
    return disposable;
  },
  Disposable: class {
    static from() {
      return disposable;
    }
    dispose() {}
  },
};
const original = Module.prototype.require;
Module.prototype.require = function (id, ...rest) {
  return id === '@azure/functions-core' ? core : original.call(this, id, ...rest);
};

import(pathToFileURL(process.env.FAKE_WORKER_MAIN).href).then(
  () => {
    process.stdout.write(`${JSON.stringify({ ...registered, sourceMapsEnabled: process.sourceMapsEnabled })}\n`);
    process.exit(0);
  },
  (error) => {
    process.stderr.write(`the app did not load: ${error.stack}\n`);
    process.exit(1);
  },
);
