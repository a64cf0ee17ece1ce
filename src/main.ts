// The Azure Functions entry, package.json `main` (built to dist/bundle/main.js). Source maps go on
// before the app's code loads, so stack traces in the function logs name the TypeScript sources;
// turned on here rather than by a worker argument, it holds wherever the bundle runs.
process.setSourceMapsEnabled(true);
await import('./azureFunctions.js');
