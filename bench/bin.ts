// The built executable the bench scripts run (`npm run build` first; their npm scripts do).

import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../dist/bin/mq-archive.js", import.meta.url));
