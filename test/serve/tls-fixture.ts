/** The test certificate for a real HTTPS server on localhost (see fixtures/README.md). */
import { readFileSync } from 'node:fs';

export const TLS_OPTIONS = {
  key: readFileSync(new URL('./fixtures/localhost-key.pem', import.meta.url)),
  cert: readFileSync(new URL('./fixtures/localhost-cert.pem', import.meta.url)),
};
