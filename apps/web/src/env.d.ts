/// <reference types="vite/client" />

/** True only under the Vite dev server with the development token helper (`dev-token.ts`). */
declare const __CHAT_DEV_TOKENS__: boolean;

interface ImportMetaEnv {
  /** The gateway URL(s), comma-separated; default: this page's host on port 4000. */
  readonly VITE_CHAT_URL?: string;
}
