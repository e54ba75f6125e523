#!/usr/bin/env node
// The `spx` command runs the gateway as `npm install` built it into dist/ (bin/build.js); `npm run dev`
// runs the TypeScript sources instead. Source maps make stack traces name the TypeScript lines.
process.setSourceMapsEnabled(true);
try {
  await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    console.error('spx is not built: run `npm run build:server` (npm install does it)');
    process.exit(1);
  }
  throw error;
}
