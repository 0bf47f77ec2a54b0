import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { freePort } from '@chat/testing';
import { spawnProcess } from './processes.ts';

const INGRESS = join(import.meta.dirname, '../../deploy/k8s/base/ingress.yaml');

/** The shipped Ingress's ingress-nginx annotations (without their prefix). */
function ingressAnnotations(): Record<string, string> {
  const ingress = parse(readFileSync(INGRESS, 'utf8')) as { metadata: { annotations: Record<string, string> } };
  return Object.fromEntries(
    Object.entries(ingress.metadata.annotations).map(([key, value]) => [key.replace('nginx.ingress.kubernetes.io/', ''), String(value)]),
  );
}

export interface Nginx {
  url: string;
  stop(): Promise<void>;
}

/**
 * Debian's nginx in front of some gateways, configured as ingress-nginx configures itself from the shipped
 * Ingress's annotations (`balance: 'ingress'`: its affinity, timeouts and body size), or as a plain round-robin
 * balancer (`balance: 'round-robin'`). Files under `static` are served at `/app/` (a page of the same origin).
 */
export async function startNginx({
  upstreams,
  balance,
  static: files = {},
}: {
  upstreams: string[];
  balance: 'ingress' | 'round-robin';
  static?: Record<string, string>;
}): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-nginx-'));
  chmodSync(dir, 0o777);
  mkdirSync(join(dir, 'app'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, 'app', name), content);
  const port = await freePort();
  const annotations = balance === 'ingress' ? ingressAnnotations() : {};
  const affinity = annotations['upstream-hash-by'] ? `hash ${annotations['upstream-hash-by']} consistent;` : '';
  const seconds = (key: string) => `${annotations[key] ?? '60'}s`;
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream gateways {
    ${affinity}
    ${upstreams.map((upstream) => `server ${upstream.replace(/^https?:\/\//, '')};`).join('\n    ')}
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size ${annotations['proxy-body-size'] ?? '1m'};
    location /app/ { alias ${dir}/app/; }
    location / {
      proxy_pass http://gateways;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout ${seconds('proxy-read-timeout')};
      proxy_send_timeout ${seconds('proxy-send-timeout')};
    }
  }
}
`,
  );
  const nginx = spawnProcess('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { name: 'nginx' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (nginx.child.exitCode !== null) throw new Error(`nginx did not start: ${nginx.output()}`);
    const up = await fetch(`${url}/app/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (i > 100) throw new Error(`nginx did not answer: ${nginx.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    async stop() {
      await nginx.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
