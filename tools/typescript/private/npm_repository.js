// Generates the @npm external repository from package-lock.json and an installed node_modules.
//
// Usage: node npm_repository.js <package-lock.json> <node_modules dir> <output repository dir>
//
// Layout written into the repository:
//   node_modules/<pkg>/...            one symlink per file (per-file links keep Bazel's caching exact)
//   node_modules/<pkg>/BUILD.bazel    :files (the package's own files) and :closure (with its dependencies)
//   <pkg>/BUILD.bazel                 :<basename>, the public label @npm//<pkg>, = the closure
// Files whose names are not valid Bazel labels are left out and listed on stderr.
"use strict";
const fs = require("fs");
const path = require("path");

const [lockPath, nodeModules, outDir] = process.argv.slice(2);
if (!lockPath || !nodeModules || !outDir) {
  console.error("usage: npm_repository.js <package-lock.json> <node_modules> <out>");
  process.exit(2);
}
const lock = JSON.parse(fs.readFileSync(lockPath, "utf8"));
if (lock.lockfileVersion < 2 || !lock.packages) {
  console.error(
    `${lockPath}: lockfileVersion ${lock.lockfileVersion} has no "packages" map; regenerate it with npm >= 7`,
  );
  process.exit(1);
}
const workspaceRoot = path.dirname(path.resolve(lockPath));
const LABEL_SAFE = /^[A-Za-z0-9_.+\-@=,~#%!/]+$/;

// ---- packages and their files -------------------------------------------------------------------------------
const keys = Object.keys(lock.packages)
  .filter((k) => k.startsWith("node_modules/"))
  .sort();
const installed = new Set(keys.filter((k) => fs.existsSync(path.join(workspaceRoot, k, "package.json"))));
const skipped = [];

function listFiles(pkgKey) {
  const root = path.join(workspaceRoot, pkgKey);
  const out = [];
  const walk = (rel) => {
    const entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name === "node_modules" && rel === "") continue; // nested packages get their own BUILD files
        walk(r);
      } else if (e.isFile() || e.isSymbolicLink()) {
        if (e.name === "BUILD" || e.name === "BUILD.bazel" || e.name === "WORKSPACE") {
          skipped.push(`${pkgKey}/${r}`);
          continue;
        }
        if (!LABEL_SAFE.test(r)) {
          skipped.push(`${pkgKey}/${r}`);
          continue;
        }
        out.push(r);
      }
    }
  };
  walk("");
  return out;
}

// ---- dependency resolution (Node's nested lookup) -------------------------------------------------------------
function resolveDep(fromKey, name) {
  let base = fromKey;
  for (;;) {
    const candidate = `${base}/node_modules/${name}`;
    if (installed.has(candidate)) return candidate;
    const idx = base.lastIndexOf("/node_modules/");
    if (idx < 0) break;
    base = base.slice(0, idx);
  }
  const top = `node_modules/${name}`;
  return installed.has(top) ? top : null;
}

function directDeps(key) {
  const p = lock.packages[key];
  const names = new Set([
    ...Object.keys(p.dependencies || {}),
    ...Object.keys(p.optionalDependencies || {}),
    ...Object.keys(p.peerDependencies || {}),
  ]);
  const out = [];
  for (const n of [...names].sort()) {
    const r = resolveDep(key, n);
    if (r) out.push(r);
  }
  return out;
}

function closureOf(key) {
  const seen = new Set([key]);
  const stack = [key];
  while (stack.length) {
    for (const d of directDeps(stack.pop())) {
      if (!seen.has(d)) {
        seen.add(d);
        stack.push(d);
      }
    }
  }
  return [...seen].sort();
}

// ---- write the repository --------------------------------------------------------------------------------------
const q = (s) => JSON.stringify(s);
fs.writeFileSync(path.join(outDir, "WORKSPACE"), 'workspace(name = "npm")\n');
fs.writeFileSync(
  path.join(outDir, "BUILD.bazel"),
  "# Generated from package-lock.json by tools/typescript/private/npm_repository.js. Do not edit.\n" +
    'exports_files(["package-lock.json"], visibility = ["//visibility:public"])\n',
);
fs.symlinkSync(path.resolve(lockPath), path.join(outDir, "package-lock.json"));

for (const key of installed) {
  const files = listFiles(key);
  const dir = path.join(outDir, key);
  for (const f of files) {
    const dst = path.join(dir, f);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.symlinkSync(fs.realpathSync(path.join(workspaceRoot, key, f)), dst);
  }
  fs.mkdirSync(dir, { recursive: true });
  const closure = closureOf(key).map((k) => `//${k}:files`);
  fs.writeFileSync(
    path.join(dir, "BUILD.bazel"),
    `# ${lock.packages[key].name || key.split("node_modules/").pop()}@${lock.packages[key].version}\n` +
      `filegroup(\n    name = "files",\n    srcs = [\n${files.map((f) => `        ${q(f)},\n`).join("")}    ],\n` +
      `    visibility = ["//visibility:public"],\n)\n\n` +
      `filegroup(\n    name = "closure",\n    srcs = [\n${closure.map((c) => `        ${q(c)},\n`).join("")}    ],\n` +
      `    visibility = ["//visibility:public"],\n)\n`,
  );
  // Public alias for top-level packages: @npm//<name>
  const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(key);
  if (m) {
    const name = m[1];
    const aliasDir = path.join(outDir, name);
    fs.mkdirSync(aliasDir, { recursive: true });
    fs.writeFileSync(
      path.join(aliasDir, "BUILD.bazel"),
      `# @npm//${name}: ${name}@${lock.packages[key].version} and its dependency closure.\n` +
        `filegroup(\n    name = ${q(path.basename(name))},\n    srcs = ["//${key}:closure"],\n` +
        `    visibility = ["//visibility:public"],\n)\n`,
    );
  }
}
if (skipped.length) {
  console.error(
    `@npm: ${skipped.length} files with names Bazel cannot label were left out, e.g. ${skipped.slice(0, 3).join(", ")}`,
  );
}
