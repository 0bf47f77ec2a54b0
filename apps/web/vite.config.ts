import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';
import { devTokens } from './dev-token.ts';

/**
 * The web app. `vite` (or `npm start`, which runs it beside the services) serves it with the development token
 * helper; `vite build` makes the static app (no helper). VITE_CHAT_URL: the gateway (comma-separated for several;
 * default: this page's host on port 4000).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Workspace packages export their TypeScript sources under `source` (@chat/client), compiled by Vite.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  define: { __CHAT_DEV_TOKENS__: 'false' },
  // Under `npm start` it shares the terminal with the services' logs.
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: 'es2022', sourcemap: true },
  plugins: [devTokens()],
});
