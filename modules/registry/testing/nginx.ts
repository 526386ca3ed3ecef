// Test helper: a real nginx (Debian build, WebDAV module) serving Bazel's HTTP cache protocol on 127.0.0.1.
// Own config and prefix under a temp directory, a free port, started in the foreground as our child and
// stopped by stop(). Set NEXA_NGINX to use another binary (default /usr/sbin/nginx).

import { ChildProcess, spawn } from "child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import http from "http";
import net from "net";
import { join } from "path";

export interface NginxServer {
  /** Base URL, e.g. "http://127.0.0.1:41234". */
  url: string;
  /** Directory nginx stores blobs in (<data>/cas/<hex>). */
  dataDir: string;
  stop(): Promise<void>;
}

export const NGINX_BINARY = process.env.NEXA_NGINX ?? "/usr/sbin/nginx";

export function nginxAvailable(): boolean {
  return existsSync(NGINX_BINARY);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function config(prefix: string, dataDir: string, port: number): string {
  const user = process.getuid?.() === 0 ? "user root;\n" : ""; // as root, workers would otherwise drop to nobody
  return `${user}worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${dataDir};
    location /cas/ {
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      client_max_body_size 0;
    }
    location /ac/ {
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
  }
}
`;
}

function ping(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url + "/cas/ping", (res) => {
      res.resume();
      resolve(true);
    });
    req.on("error", () => resolve(false));
  });
}

/** Starts nginx under `prefix` (created); resolves when it answers HTTP. */
export async function startNginx(prefix: string): Promise<NginxServer> {
  const dataDir = join(prefix, "data");
  mkdirSync(join(dataDir, "cas"), { recursive: true });
  const port = await freePort();
  const conf = join(prefix, "nginx.conf");
  writeFileSync(conf, config(prefix, dataDir, port));
  const child: ChildProcess = spawn(NGINX_BINARY, ["-p", prefix, "-c", conf, "-e", join(prefix, "error.log")], {
    stdio: "ignore",
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !exited; i++) {
    if (await ping(url)) {
      return {
        url,
        dataDir,
        async stop() {
          if (!exited) child.kill("SIGQUIT"); // graceful shutdown of master and worker
          await exit;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  const log = existsSync(join(prefix, "error.log")) ? readFileSync(join(prefix, "error.log"), "utf8") : "";
  throw new Error(`nginx did not start on ${url}:\n${log}`);
}
