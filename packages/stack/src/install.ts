// Installs what a fresh machine lacks for the local stack, idempotently: Debian packages, Go-built binaries
// (MinIO, stripe-mock; SeaweedFS when ATOLL_STORAGE=seaweedfs), the Keycloak distribution from Maven Central, a JDK new enough for it, and the writer's ORC
// converter (Rust, built with cargo from crates.io; pinned by its Cargo.lock).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run, runOrThrow, which } from './exec.js';
import { cacheDir, paths, repoRoot } from './paths.js';
import { versions } from './versions.js';
import { publishDir } from '../../../scripts/publish-dir.mjs';

export interface Installed {
  minio: string;
  /** SeaweedFS's `weed` binary; built only when the stack runs on SeaweedFS (see `storageKind`). */
  seaweedfs: string;
  stripeMock: string;
  redisServer: string;
  postgresBin: string;
  keycloakHome: string;
  javaHome: string;
  /** The writer's ORC → Parquet converter (ATOLL_ORC_CONVERTER). */
  orcConverter: string;
}

type Say = (msg: string) => void;

const isRoot = process.getuid?.() === 0;

/** apt-get waits up to 15 minutes for a lock another apt holds instead of failing at once. */
const APT_WAIT = ['-o', 'DPkg::Lock::Timeout=900'];

async function aptInstall(pkgs: string[], say: Say): Promise<void> {
  if (!isRoot) {
    throw new Error(`missing Debian packages ${pkgs.join(', ')}: run "sudo apt-get install -y ${pkgs.join(' ')}"`);
  }
  say(`installing Debian packages: ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt may hold dpkg's lock (a second stack, the portal tests' Chromium install): wait for it, not fail.
  const install = () => run('apt-get', [...APT_WAIT, 'install', '-y', '--no-install-recommends', ...pkgs], { env });
  let r = await install();
  if (r.code !== 0) {
    await runOrThrow('apt-get', [...APT_WAIT, 'update'], { env });
    r = await install();
  }
  if (r.code !== 0) throw new Error(`apt-get install ${pkgs.join(' ')} failed:\n${r.stderr.slice(-2000)}`);
}

async function ensureDebian(say: Say): Promise<{ redisServer: string; postgresBin: string }> {
  const postgresBin = `/usr/lib/postgresql/${versions.debian.postgresMajor}/bin`;
  const missing: string[] = [];
  if (!(await which('redis-server'))) missing.push(versions.debian.redis);
  if (!existsSync(join(postgresBin, 'postgres'))) missing.push(versions.debian.postgres);
  if (missing.length > 0) await aptInstall(missing, say);
  const redisServer = await which('redis-server');
  if (!redisServer) throw new Error('redis-server is still missing after installation');
  return { redisServer, postgresBin };
}

async function goInstall(name: string, modulePath: string, version: string, say: Say): Promise<string> {
  const dir = join(paths.binDir, `${name}-${version}`);
  const bin = join(dir, name);
  if (existsSync(bin)) return bin;
  const go = await which('go');
  if (!go) throw new Error(`Go is required to build ${name} (go install ${modulePath}@${version})`);
  say(`building ${name} ${version} from source with go install (first run only; takes a few minutes)`);
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await runOrThrow(go, ['install', `${modulePath}@${version}`], {
    env: { ...process.env, GOBIN: tmp, GOFLAGS: '-buildvcs=false' },
  });
  publishDir(tmp, dir, name);
  return bin;
}

/**
 * Builds a command from a module the Go proxy serves, for modules `go install` refuses (a go.mod with replace
 * directives): `go mod download` the exact version (checked against the checksum database like any module), copy its
 * read-only tree to a scratch directory and `go build` the package there.
 */
async function goModBuild(name: string, modulePath: string, version: string, pkg: string, say: Say): Promise<string> {
  const dir = join(paths.binDir, `${name}-${version}`);
  const bin = join(dir, name);
  if (existsSync(bin)) return bin;
  const go = await which('go');
  if (!go) throw new Error(`Go is required to build ${name} (go mod download ${modulePath}@${version}, then go build ${pkg})`);
  say(`building ${name} ${version} from source with go build (first run only; takes several minutes)`);
  const env = { ...process.env, GOFLAGS: '-buildvcs=false' };
  // Outside any module, so the download is not recorded in a go.mod of ours.
  const info = JSON.parse(await runOrThrow(go, ['mod', 'download', '-json', `${modulePath}@${version}`], { env, cwd: tmpdir() })) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${modulePath}@${version} gave no directory${info.Error ? `: ${info.Error}` : ''}`);
  const src = join(tmpdir(), `atoll-${name}-src-${process.pid}`);
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(src, { recursive: true, force: true });
  await rm(tmp, { recursive: true, force: true });
  try {
    await cp(info.Dir, src, { recursive: true });
    await runOrThrow('chmod', ['-R', 'u+w', src]);
    await mkdir(tmp, { recursive: true });
    // -trimpath: the build does not depend on the scratch directory's name, so Go's build cache serves a rebuild.
    await runOrThrow(go, ['build', '-trimpath', '-o', join(tmp, name), pkg], { env, cwd: src });
    publishDir(tmp, dir, name);
  } finally {
    await rm(src, { recursive: true, force: true });
    await rm(tmp, { recursive: true, force: true });
  }
  return bin;
}

/** Which S3 server the local stack runs: ATOLL_STORAGE (minio by default). */
export type StorageKind = 'minio' | 'seaweedfs';

export function storageKind(env: Record<string, string | undefined> = process.env): StorageKind {
  const v = env.ATOLL_STORAGE ?? 'minio';
  if (v !== 'minio' && v !== 'seaweedfs') throw new Error(`ATOLL_STORAGE must be minio or seaweedfs, got ${JSON.stringify(v)}`);
  return v;
}

const seaweedPath = () => join(paths.binDir, `weed-${versions.seaweedfs}`, 'weed');

/** Builds (once) and locates SeaweedFS's `weed`. */
export function ensureSeaweedfs(say: Say = (m) => process.stderr.write(`[stack] ${m}\n`)): Promise<string> {
  return goModBuild('weed', 'github.com/seaweedfs/seaweedfs', versions.seaweedfs, './weed', say);
}

const ORC_CRATE = join(repoRoot, 'packages', 'bulk', 'orc-to-parquet');
const ORC_BINARY = 'atoll-orc-to-parquet';

/** Where the converter built from the crate's current sources lives: a change to them is a new directory, a rebuild. */
function orcConverterPath(): string {
  const h = createHash('sha256');
  for (const rel of ['Cargo.toml', 'Cargo.lock', ...readdirSync(join(ORC_CRATE, 'src')).sort().map((f) => join('src', f))]) {
    h.update(rel).update('\0').update(readFileSync(join(ORC_CRATE, rel))).update('\0');
  }
  return join(paths.binDir, `${ORC_BINARY}-${h.digest('hex').slice(0, 16)}`, ORC_BINARY);
}

async function ensureOrcConverter(say: Say): Promise<string> {
  const bin = orcConverterPath();
  if (existsSync(bin)) return bin;
  const cargo = (await which('cargo')) ?? (existsSync(join(homedir(), '.cargo', 'bin', 'cargo')) ? join(homedir(), '.cargo', 'bin', 'cargo') : null);
  if (!cargo) throw new Error(`Rust's cargo is required to build the ORC converter (cargo build --release --locked in ${ORC_CRATE})`);
  say('building the ORC converter with cargo (first run only; takes several minutes)');
  // One target directory for every build, so a change to the converter recompiles only the converter.
  const target = join(cacheDir, 'cargo-target');
  await runOrThrow(cargo, ['build', '--release', '--locked', '--manifest-path', join(ORC_CRATE, 'Cargo.toml')], { env: { ...process.env, CARGO_TARGET_DIR: target } });
  const dir = dirname(bin);
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await copyFile(join(target, 'release', ORC_BINARY), join(tmp, ORC_BINARY));
  await chmod(join(tmp, ORC_BINARY), 0o755);
  publishDir(tmp, dir, ORC_BINARY);
  return bin;
}

function sha(file: string, algorithm: 'sha1' | 'sha256'): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const h = createHash(algorithm);
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolvePromise(h.digest('hex')));
  });
}

async function ensureKeycloak(say: Say): Promise<string> {
  const { version, sha256 } = versions.keycloak;
  const home = join(cacheDir, `keycloak-${version}`);
  if (existsSync(join(home, 'bin', 'kc.sh'))) return home;
  await mkdir(paths.downloads, { recursive: true });
  const file = join(paths.downloads, `keycloak-quarkus-dist-${version}.tar.gz`);
  const url = `https://repo1.maven.org/maven2/org/keycloak/keycloak-quarkus-dist/${version}/keycloak-quarkus-dist-${version}.tar.gz`;
  if (!existsSync(file) || (await sha(file, 'sha256')) !== sha256) {
    say(`downloading Keycloak ${version} from Maven Central`);
    const res = await fetch(url);
    if (!res.ok || !res.body) throw new Error(`download of ${url} failed: HTTP ${res.status}`);
    // A part file of this process's own: two installs at once (two stacks, CI beside a developer) never mix bytes.
    const part = `${file}.part-${process.pid}`;
    await writeFile(part, Buffer.from(await res.arrayBuffer()));
    await rename(part, file);
  }
  const actual = await sha(file, 'sha256');
  if (actual !== sha256) {
    await rm(file, { force: true });
    throw new Error(`Keycloak archive checksum mismatch: expected ${sha256}, got ${actual}`);
  }
  const sha1Res = await fetch(`${url}.sha1`).catch(() => null);
  if (sha1Res?.ok) {
    const expected = (await sha1Res.text()).trim().split(/\s+/)[0];
    if (expected && expected !== (await sha(file, 'sha1'))) throw new Error('Keycloak archive does not match Maven Central .sha1');
  }
  const tmp = `${home}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await runOrThrow('tar', ['xzf', file, '-C', tmp, '--strip-components=1']);
  publishDir(tmp, home, join('bin', 'kc.sh'));
  return home;
}

function javaMajor(home: string): number {
  try {
    const release = readFileSync(join(home, 'release'), 'utf8');
    const m = /JAVA_VERSION="(\d+)/.exec(release);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function findJava(): string | null {
  const candidates: string[] = [];
  if (process.env.ATOLL_JAVA_HOME) candidates.push(process.env.ATOLL_JAVA_HOME);
  if (process.env.JAVA_HOME) candidates.push(process.env.JAVA_HOME);
  if (existsSync('/usr/lib/jvm')) {
    for (const d of readdirSync('/usr/lib/jvm')) candidates.push(join('/usr/lib/jvm', d));
  }
  const ok = candidates
    .filter((h) => existsSync(join(h, 'bin', 'java')) && javaMajor(h) >= versions.keycloak.minJava)
    .sort((a, b) => javaMajor(b) - javaMajor(a));
  return ok[0] ?? null;
}

async function ensureJava(say: Say): Promise<string> {
  let home = findJava();
  if (home) return home;
  // Debian bookworm has no JDK 21; newer Debian releases ship openjdk-21/25.
  for (const pkg of ['openjdk-21-jdk-headless', 'openjdk-25-jdk-headless']) {
    const r = await run('apt-cache', ['show', pkg]);
    if (r.code === 0) {
      await aptInstall([pkg], say);
      home = findJava();
      if (home) return home;
    }
  }
  throw new Error(`Keycloak ${versions.keycloak.version} needs Java ${versions.keycloak.minJava}+; set ATOLL_JAVA_HOME to such a JDK`);
}

/** Where the binaries are (or will be), without installing anything: for `status`. */
export function locateStack(): Installed {
  return {
    minio: join(paths.binDir, `minio-${versions.minio}`, 'minio'),
    seaweedfs: seaweedPath(),
    stripeMock: join(paths.binDir, `stripe-mock-${versions.stripeMock}`, 'stripe-mock'),
    redisServer: '/usr/bin/redis-server',
    postgresBin: `/usr/lib/postgresql/${versions.debian.postgresMajor}/bin`,
    keycloakHome: join(cacheDir, `keycloak-${versions.keycloak.version}`),
    javaHome: findJava() ?? '',
    orcConverter: orcConverterPath(),
  };
}

/** Makes sure every binary the stack runs is present; returns where they are. Safe to call on every start. */
export async function installStack(say: Say = (m) => process.stderr.write(`[stack] ${m}\n`), storage: StorageKind = storageKind()): Promise<Installed> {
  const onSeaweed = storage === 'seaweedfs';
  const [debian, minio, seaweedfs, stripeMock, keycloakHome, javaHome, orcConverter] = await Promise.all([
    ensureDebian(say),
    goInstall('minio', 'github.com/minio/minio', versions.minio, say),
    onSeaweed ? ensureSeaweedfs(say) : Promise.resolve(seaweedPath()),
    goInstall('stripe-mock', 'github.com/stripe/stripe-mock', versions.stripeMock, say),
    ensureKeycloak(say),
    ensureJava(say),
    ensureOrcConverter(say),
  ]);
  return { ...debian, minio, seaweedfs, stripeMock, keycloakHome, javaHome, orcConverter };
}
