import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ConfigValidationError, EnvironmentVariables, LEGACY_ALIASES, loadConfig } from '@app/config';
import type { AppConfig } from '@app/config';
import { parse, parseAllDocuments } from 'yaml';

/**
 * The deployment files read the way docker-compose and Kubernetes read them, checked against the
 * configuration schema the apps validate at boot: a variable the apps need in production that no
 * deployment provides, a typo in a variable name, a port that does not match its probe, or a
 * missing probe or limit fails here instead of in a cluster.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

const APP_SERVICES = ['api', 'worker', 'scheduler', 'migrate'] as const;
type AppRole = (typeof APP_SERVICES)[number];
const LOG_VOLUME_PATH = '/var/log/mail-service';
const HEALTH_PORTS: Record<Exclude<AppRole, 'migrate'>, number> = { api: 5000, worker: 5001, scheduler: 5002 };
const SEED_HEALTHCHECK = { interval: '30s', timeout: '10s', retries: 3, start_period: '40s' };

/** What an operator puts into .env (or a Secret) before going to production. */
const PRODUCTION_SECRETS = {
  JWT_SECRET: 'placeholder-jwt-secret-0123456789abcdef',
  ENCRYPTION_KEY: 'ab'.repeat(32),
};
/** Values for the variables docker-compose.yml interpolates, unlike their defaults. */
const COMPOSE_VARIABLES: Record<string, string> = {
  POSTGRES_PASSWORD: 'placeholder-owner-password',
  APP_DB_PASSWORD: 'placeholder-app-password',
};
/** The keys 10-configmap.yaml documents for the mail-service-secrets Secret. */
const K8S_SECRET_VALUES: Record<string, string> = {
  DATABASE_URL: 'postgresql://email_service_app:placeholder@db.internal:5432/mail_service',
  REDIS_URL: 'redis://redis.internal:6379/0',
  ...PRODUCTION_SECRETS,
};

const KNOWN_VARIABLES = new Set([...Object.keys(new EnvironmentVariables()), ...Object.keys(LEGACY_ALIASES)]);

/**
 * The variables the schema refuses to boot without in production, read from the schema itself
 * (its error names each one first), so a newly required variable is demanded here too.
 */
function productionRequiredVariables(): string[] {
  try {
    loadConfig({ NODE_ENV: 'production' });
    return [];
  } catch (error: unknown) {
    if (!(error instanceof ConfigValidationError)) throw error;
    return error.problems.map((problem) => {
      const name = problem.match(/^[A-Z][A-Z0-9_]*/)?.[0];
      if (!name || !KNOWN_VARIABLES.has(name)) throw new Error(`cannot tell which variable this is about: ${problem}`);
      return name;
    });
  }
}

/** JWT_SECRET may be replaced by JWT_PUBLIC_KEY (RS256 tokens from an identity provider). */
const ALTERNATIVES: Record<string, string[]> = { JWT_SECRET: ['JWT_SECRET', 'JWT_PUBLIC_KEY'] };

// ---------------------------------------------------------------------------------------------
// docker-compose

interface ComposeHealthcheck {
  test?: string[] | string;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
  disable?: boolean;
}

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  command?: string[];
  user?: string;
  env_file?: string | string[];
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: ComposeHealthcheck;
  logging?: { driver: string; options?: Record<string, string> };
  read_only?: boolean;
  cap_drop?: string[];
  profiles?: string[];
  deploy?: { replicas?: number };
  networks?: Record<string, { aliases?: string[] } | null>;
  restart?: string;
  sysctls?: Record<string, string | number>;
  tmpfs?: string[];
  security_opt?: string[];
  stop_grace_period?: string;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** KEY=VALUE lines as docker-compose reads an env_file: no quoting, `#` lines are comments. */
function readEnvFile(path: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const line of read(path).split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) entries[match[1]] = match[2] ?? '';
  }
  return entries;
}

const ENV_EXAMPLE = readEnvFile('.env.example');

/** Compose's variable substitution: $$, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}. */
function interpolate(text: string, variables: Readonly<Record<string, string>>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match: string, braced?: string, operator?: string, argument?: string, bare?: string) => {
      if (match === '$$') return '$';
      const name = braced ?? bare ?? '';
      const value = variables[name];
      switch (operator) {
        case ':-':
          return value ? value : (argument ?? '');
        case '-':
          return value ?? argument ?? '';
        case ':?':
        case '?':
          if (value === undefined || (operator === ':?' && value === ''))
            throw new Error(`compose requires ${name}: ${argument}`);
          return value;
        default:
          if (value === undefined) throw new Error(`compose would substitute an empty string for unset \${${name}}`);
          return value;
      }
    },
  );
}

function interpolateAll<T>(node: T, variables: Readonly<Record<string, string>>): T {
  if (typeof node === 'string') return interpolate(node, variables) as T;
  if (Array.isArray(node)) return node.map((item: unknown) => interpolateAll(item, variables)) as T;
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => [key, interpolateAll(value as unknown, variables)]),
    ) as T;
  }
  return node;
}

/** Compose reads .env (here: a fresh copy of .env.example) and the shell for substitution. */
function loadCompose(path: string): ComposeFile {
  const raw = parse(read(path), { merge: true }) as ComposeFile;
  return interpolateAll(raw, { ...ENV_EXAMPLE, ...COMPOSE_VARIABLES });
}

/** Later files add services and override keys, as `docker-compose -f base -f override` does. */
function mergeCompose(base: ComposeFile, override: ComposeFile): ComposeFile {
  const services: Record<string, ComposeService> = { ...base.services };
  for (const [name, service] of Object.entries(override.services)) services[name] = { ...services[name], ...service };
  return { services, volumes: { ...base.volumes, ...override.volumes } };
}

function service(file: ComposeFile, name: string): ComposeService {
  const found = file.services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
}

function envFiles(svc: ComposeService): string[] {
  if (svc.env_file === undefined) return [];
  return Array.isArray(svc.env_file) ? svc.env_file : [svc.env_file];
}

function environmentOf(svc: ComposeService): Record<string, string> {
  return Object.fromEntries(
    Object.entries(svc.environment ?? {}).map(([key, value]) => [key, value === null ? '' : String(value)]),
  );
}

/**
 * The environment a container of this service starts with in production: .env (the example,
 * with NODE_ENV=production and its secrets filled in) under the service's `environment:`.
 */
function productionEnvironment(svc: ComposeService): Record<string, string> {
  const dotenv = envFiles(svc).includes('.env') ? { ...ENV_EXAMPLE, ...PRODUCTION_SECRETS } : {};
  return { ...dotenv, ...environmentOf(svc), NODE_ENV: 'production' };
}

interface PublishedPort {
  hostIp: string | null;
  host: number;
  container: number;
}

function publishedPorts(svc: ComposeService): PublishedPort[] {
  return (svc.ports ?? []).map((spec) => {
    const parts = spec.replace(/\/(tcp|udp)$/, '').split(':');
    const container = Number(parts.pop());
    const host = Number(parts.pop() ?? container);
    return { hostIp: parts.pop() ?? null, host, container };
  });
}

function hostOf(url: string): string {
  return new URL(url).hostname;
}

describe('docker-compose.yml', () => {
  const compose = loadCompose('docker-compose.yml');
  const required = productionRequiredVariables();

  it('runs the whole stack', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['api', 'dovecot', 'migrate', 'postfix', 'postgres', 'redis', 'scheduler', 'worker'].sort(),
    );
  });

  it('publishes the seed ports, PostgreSQL and Redis on loopback only', () => {
    const published = (name: string): string[] =>
      publishedPorts(service(compose, name)).map((p) => `${p.host}:${p.container}`);

    expect(published('postgres')).toEqual(['5433:5432']);
    expect(published('redis')).toEqual(['6379:6379']);
    expect(published('postfix')).toEqual(['25:25', '587:587']);
    expect(published('dovecot')).toEqual(['143:143', '993:993', '110:110', '995:995']);
    expect(published('api')).toEqual(['5000:5000']);
    for (const name of ['postgres', 'redis']) {
      expect(publishedPorts(service(compose, name)).map((p) => p.hostIp)).toEqual(['127.0.0.1']);
    }
    for (const name of ['worker', 'scheduler', 'migrate']) expect(service(compose, name).ports).toBeUndefined();
  });

  it('gives every long-running service a healthcheck with the seed timing', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (name === 'migrate') continue;
      expect({ name, ...svc.healthcheck }).toMatchObject({ name, ...SEED_HEALTHCHECK });
      expect(svc.healthcheck?.test).toBeDefined();
    }
    for (const role of ['api', 'worker', 'scheduler'] as const) {
      expect(service(compose, role).healthcheck?.test).toEqual([
        'CMD',
        '/app/docker/entrypoint.sh',
        'healthcheck',
        role,
      ]);
    }
  });

  it('runs Redis with maxmemory-policy noeviction, as BullMQ requires', () => {
    const command = service(compose, 'redis').command ?? [];

    expect(command[command.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
  });

  it('starts the apps only after a successful migration and healthy PostgreSQL and Redis', () => {
    for (const role of ['api', 'worker', 'scheduler']) {
      expect(service(compose, role).depends_on).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
    }
    expect(service(compose, 'migrate').depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(service(compose, 'migrate').command).toEqual(['migrate']);
    expect(service(compose, 'migrate').restart).toBe('no');
  });

  it('rotates every service log (json-file, 10 x 10m)', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      expect({ name, logging: svc.logging }).toEqual({
        name,
        logging: { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '10' } },
      });
    }
  });

  it('keeps data, mail, queue and logs in declared named volumes', () => {
    const mounts = (name: string): string[] => service(compose, name).volumes ?? [];

    expect(mounts('postgres')).toEqual(['postgres-data:/var/lib/postgresql/data']);
    expect(mounts('redis')).toEqual(['redis-data:/data']);
    expect(mounts('dovecot')).toEqual(['mail-data:/var/mail']);
    expect(mounts('postfix')).toEqual(['postfix-spool:/var/spool/postfix']);
    for (const role of APP_SERVICES) expect(mounts(role)).toEqual([`app-logs:${LOG_VOLUME_PATH}`]);
    const declared = Object.keys(compose.volumes ?? {});
    for (const svc of Object.values(compose.services)) {
      for (const volume of svc.volumes ?? []) expect(declared).toContain(volume.split(':')[0]);
    }
  });

  it('runs every process as a non-root user except the Postfix master', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (name === 'postfix') continue;
      expect({ name, user: svc.user }).toEqual({
        name,
        user: expect.stringMatching(/^(?!0(:|$)|root(:|$)).+/) as unknown,
      });
    }
    for (const role of APP_SERVICES) {
      const svc = service(compose, role);
      expect(svc.user).toBe('1000:1000');
      expect(svc.read_only).toBe(true);
      expect(svc.cap_drop).toEqual(['ALL']);
      expect(svc.tmpfs).toEqual(['/tmp']);
    }
  });

  it('builds every app service from the one Dockerfile, tagged with SERVICE_VERSION', () => {
    for (const role of APP_SERVICES) {
      const svc = service(compose, role);
      expect(svc.build).toEqual({
        context: '.',
        dockerfile: 'docker/Dockerfile',
        args: { SERVICE_VERSION: ENV_EXAMPLE.SERVICE_VERSION },
      });
      expect(svc.image).toBe(`mail-service:${ENV_EXAMPLE.SERVICE_VERSION}`);
      expect(svc.command).toEqual([role]);
    }
    expect(existsSync(join(ROOT, 'docker/dovecot/Dockerfile'))).toBe(true);
    expect(existsSync(join(ROOT, 'docker/postfix/Dockerfile'))).toBe(true);
  });

  it.each(APP_SERVICES)('provides %s with every variable the apps require in production', (role) => {
    const svc = service(compose, role);
    const provided = new Set([
      ...Object.keys(environmentOf(svc)),
      ...(envFiles(svc).includes('.env') ? Object.keys(ENV_EXAMPLE) : []),
    ]);

    expect(envFiles(svc)).toEqual(['.env']);
    expect(required.length).toBeGreaterThan(0);
    for (const name of required) {
      expect({ name, provided: (ALTERNATIVES[name] ?? [name]).some((candidate) => provided.has(candidate)) }).toEqual({
        name,
        provided: true,
      });
    }
    // .env points at localhost for `npm start`; inside the stack the services have names.
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'QUEUE_REDIS_URL'])
      expect(Object.keys(environmentOf(svc))).toContain(name);
    for (const name of Object.keys(environmentOf(svc)))
      expect({ name, known: KNOWN_VARIABLES.has(name) }).toEqual({ name, known: true });
  });

  it.each(APP_SERVICES)('boots %s with NODE_ENV=production on its effective environment', (role) => {
    const config: AppConfig = loadConfig(productionEnvironment(service(compose, role)));

    expect(config.isProduction).toBe(true);
    expect(hostOf(config.databaseUrl)).toBe('postgres');
    expect(new URL(config.databaseUrl).username).toBe('email_service_app');
    expect(new URL(config.databaseUrl).password).toBe(COMPOSE_VARIABLES.APP_DB_PASSWORD);
    expect(hostOf(config.redis.url)).toBe('redis');
    expect(hostOf(config.redis.queueUrl)).toBe('redis');
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.log.dir?.startsWith(`${LOG_VOLUME_PATH}/`)).toBe(true);
    if (role === 'migrate') {
      const owner = new URL(config.databaseMigrationUrl);
      expect([owner.hostname, owner.username, owner.password]).toEqual([
        'postgres',
        'postgres',
        COMPOSE_VARIABLES.POSTGRES_PASSWORD,
      ]);
      expect(owner.pathname).toBe(new URL(config.databaseUrl).pathname);
    } else {
      // The apps never receive the owner's credentials.
      expect(config.databaseMigrationUrl).toBe(config.databaseUrl);
      const ports = { api: config.http.port, worker: config.worker.healthPort, scheduler: config.scheduler.healthPort };
      expect(ports[role]).toBe(HEALTH_PORTS[role]);
    }
    if (role === 'api') expect(publishedPorts(service(compose, 'api'))[0]?.container).toBe(config.http.port);
  });

  it.each(APP_SERVICES)('boots %s for local use with .env.example copied as is', (role) => {
    const svc = service(compose, role);
    const config = loadConfig({ ...ENV_EXAMPLE, ...environmentOf(svc) });

    expect(config.environment).toBe(ENV_EXAMPLE.NODE_ENV);
    expect(hostOf(config.databaseUrl)).toBe('postgres');
  });

  it('hands the owner password only to PostgreSQL and the migrate step', () => {
    const holders = Object.entries(compose.services)
      .filter(([, svc]) => JSON.stringify(svc).includes(COMPOSE_VARIABLES.POSTGRES_PASSWORD ?? ''))
      .map(([name]) => name);

    expect(holders.sort()).toEqual(['migrate', 'postgres']);
  });

  it('lets rootless Dovecot bind the standard ports', () => {
    expect(service(compose, 'dovecot').user).toBe('5000:5000');
    expect(service(compose, 'dovecot').sysctls).toEqual({ 'net.ipv4.ip_unprivileged_port_start': 0 });
  });
});

describe('deployment/docker-compose.scale.yml', () => {
  const base = loadCompose('docker-compose.yml');
  const override = loadCompose('deployment/docker-compose.scale.yml');
  const merged = mergeCompose(base, override);

  it('parks the single port-publishing api and runs 3 API replicas and 2 workers', () => {
    expect(service(merged, 'api').profiles).toEqual(['single-api']);
    expect(service(merged, 'api-replica').deploy?.replicas).toBe(3);
    expect(service(merged, 'api-replica').ports).toBeUndefined();
    expect(service(merged, 'worker').deploy?.replicas).toBe(2);
    expect(service(merged, 'api-replica').networks).toEqual({ default: { aliases: ['api'] } });
  });

  it('keeps api-replica identical to the base api apart from publishing, scaling and the proxy settings', () => {
    const { ports: _ports, environment: baseEnvironment, ...baseApi } = service(base, 'api');
    const {
      networks: _networks,
      deploy: _deploy,
      environment: replicaEnvironment,
      ...replica
    } = service(merged, 'api-replica');

    expect(replica).toEqual(baseApi);
    expect(replicaEnvironment).toEqual({ ...baseEnvironment, TRUST_PROXY: 'true', API_WORKERS: '1' });
  });

  it('boots the replicas in production with TRUST_PROXY behind nginx', () => {
    const config = loadConfig(productionEnvironment(service(merged, 'api-replica')));

    expect(config.http.trustProxy).toBe(true);
    expect(config.http.port).toBe(5000);
    expect(config.http.workers).toBe(1);
  });

  it('publishes 5000 through an unprivileged nginx running deployment/nginx/nginx.conf', () => {
    const nginx = service(merged, 'nginx');
    const conf = read('deployment/nginx/nginx.conf');

    expect(publishedPorts(nginx).map((p) => `${p.host}:${p.container}`)).toEqual(['5000:8080']);
    expect(nginx.volumes).toEqual(['./deployment/nginx/nginx.conf:/etc/nginx/nginx.conf:ro']);
    expect(nginx.image).toMatch(/^nginxinc\/nginx-unprivileged:/);
    expect(nginx.depends_on).toEqual({ 'api-replica': { condition: 'service_healthy' } });
    expect(nginx.healthcheck).toMatchObject(SEED_HEALTHCHECK);
    expect(conf).toMatch(/^\s*listen 8080;/m);
    expect(conf).toMatch(/upstream api \{[^}]*server api:5000[^}]*keepalive \d+;/);
    expect(conf).toMatch(/proxy_set_header X-Request-ID \$forwarded_request_id;/);
    expect(conf).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    expect(conf).toMatch(/proxy_buffering off;/);
  });
});

// ---------------------------------------------------------------------------------------------
// Dockerfile

describe('docker/Dockerfile', () => {
  const dockerfile = read('docker/Dockerfile').replace(/\s*\\\n\s*/g, ' ');
  const entrypoint = read('docker/entrypoint.sh');
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

  it('builds with dev dependencies and ships production dependencies only', () => {
    const builder = dockerfile.slice(dockerfile.indexOf(' AS builder'), dockerfile.indexOf(' AS runtime'));
    const runs = [...builder.matchAll(/^RUN (.*)$/gm)].map((match) => match[1]);

    expect(runs).toEqual(['npm ci --no-audit --no-fund', 'npm run build', 'npm prune --omit=dev --no-audit --no-fund']);
    expect(dockerfile).toMatch(/^FROM node:\$\{NODE_VERSION\}-bookworm-slim AS runtime$/m);
    expect(dockerfile).toMatch(/^ARG NODE_VERSION=20\.\d+\.\d+$/m);
  });

  it('runs as uid 1000 under tini with the seed healthcheck timing and OCI labels', () => {
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "\/app\/docker\/entrypoint\.sh"\]$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 CMD/m);
    expect(dockerfile).toMatch(/^ARG SERVICE_VERSION=/m);
    expect(dockerfile).toMatch(/org\.opencontainers\.image\.version="\$\{SERVICE_VERSION\}"/);
  });

  it('starts each role with the same entry file as the npm scripts', () => {
    const entries: Record<AppRole, string> = {
      api: 'dist/apps/api/src/main.js',
      worker: 'dist/apps/worker/src/main.js',
      scheduler: 'dist/apps/scheduler/src/main.js',
      migrate: 'dist/libs/database/src/cli/migrate.js',
    };
    for (const role of APP_SERVICES) {
      expect(entrypoint).toContain(`exec node ${entries[role]} "$@"`);
      if (role !== 'migrate') expect(scripts[`start:${role}`]).toContain(entries[role]);
    }
  });

  it('keeps secrets and build output out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim());

    expect(ignored).toEqual(expect.arrayContaining(['.env', 'node_modules', 'dist', '.git']));
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes

interface Probe {
  httpGet?: { path: string; port: string | number };
}

interface Container {
  name: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}

interface PodSpec {
  restartPolicy?: string;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: { name: string; emptyDir?: object }[];
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    selector?: Record<string, string> | { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
    scaleTargetRef?: { apiVersion: string; kind: string; name: string };
    minReplicas?: number;
    maxReplicas?: number;
    ports?: { port: number; targetPort: string | number }[];
  };
}

function loadManifests(): K8sObject[] {
  const dir = join(ROOT, 'deployment', 'k8s');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
        return doc.toJS() as K8sObject | null;
      }),
    )
    .filter((object): object is K8sObject => object !== null);
}

function podSpecOf(object: K8sObject): PodSpec {
  const spec = object.spec?.template?.spec;
  if (!spec) throw new Error(`${object.kind}/${object.metadata.name} has no pod template`);
  return spec;
}

function probePort(container: Container, probe: Probe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  return typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return selector !== undefined && Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

describe('deployment/k8s', () => {
  const objects = loadManifests();
  const ofKind = (kind: string): K8sObject[] => objects.filter((object) => object.kind === kind);
  const deployments = ofKind('Deployment');
  const deployment = (role: string): K8sObject => {
    const found = deployments.find((object) => object.metadata.name === `mail-service-${role}`);
    if (!found) throw new Error(`no Deployment mail-service-${role}`);
    return found;
  };
  const configMap = ofKind('ConfigMap').find((object) => object.metadata.name === 'mail-service-config');
  const job = ofKind('Job').find((object) => object.metadata.name === 'mail-service-migrate');
  const workloads = [...deployments, ...(job ? [job] : [])];

  it('has Deployments for api, worker and scheduler, a migrate Job and a ConfigMap', () => {
    expect(deployments.map((object) => object.metadata.name).sort()).toEqual([
      'mail-service-api',
      'mail-service-scheduler',
      'mail-service-worker',
    ]);
    expect(job).toBeDefined();
    expect(configMap).toBeDefined();
    expect(deployment('scheduler').spec?.replicas).toBe(1);
  });

  it.each(['api', 'worker', 'scheduler'] as const)('probes %s on its health port', (role) => {
    const [container] = podSpecOf(deployment(role)).containers;

    expect(container?.args).toEqual([role]);
    for (const probe of [container?.livenessProbe, container?.readinessProbe]) {
      expect(probe?.httpGet?.path).toBe('/health');
      expect(container && probePort(container, probe)).toBe(HEALTH_PORTS[role]);
    }
    const ports = { api: 'PORT', worker: 'WORKER_HEALTH_PORT', scheduler: 'SCHEDULER_HEALTH_PORT' };
    expect(Number(configMap?.data?.[ports[role]])).toBe(HEALTH_PORTS[role]);
  });

  it('sets requests and limits, a non-root user and a read-only root filesystem on every workload', () => {
    for (const object of workloads) {
      const pod = podSpecOf(object);
      expect({ name: object.metadata.name, pod: pod.securityContext }).toMatchObject({
        name: object.metadata.name,
        pod: { runAsNonRoot: true, runAsUser: 1000 },
      });
      for (const container of pod.containers) {
        expect(Object.keys(container.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
        expect(Object.keys(container.resources?.limits ?? {}).sort()).toEqual(['cpu', 'memory']);
        expect(container.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 1000,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        const emptyDirs = new Set((pod.volumes ?? []).filter((volume) => volume.emptyDir).map((volume) => volume.name));
        const writable = (container.volumeMounts ?? [])
          .filter((mount) => emptyDirs.has(mount.name))
          .map((mount) => mount.mountPath);
        expect(writable.sort()).toEqual(['/tmp', LOG_VOLUME_PATH]);
      }
    }
  });

  it('points every HPA (autoscaling/v2) at an existing Deployment, for api and worker', () => {
    const hpas = ofKind('HorizontalPodAutoscaler');

    expect(hpas.every((hpa) => hpa.apiVersion === 'autoscaling/v2')).toBe(true);
    expect(hpas.map((hpa) => hpa.spec?.scaleTargetRef?.name).sort()).toEqual([
      'mail-service-api',
      'mail-service-worker',
    ]);
    for (const hpa of hpas) {
      expect(hpa.spec?.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment' });
      expect(deployments.map((object) => object.metadata.name)).toContain(hpa.spec?.scaleTargetRef?.name);
      expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    }
  });

  it('selects existing pods with every PodDisruptionBudget and the api Service', () => {
    const podLabels = deployments.map((object) => object.spec?.template?.metadata?.labels);
    for (const pdb of ofKind('PodDisruptionBudget')) {
      const selector = pdb.spec?.selector as { matchLabels?: Record<string, string> } | undefined;
      expect(podLabels.filter((labels) => matches(selector?.matchLabels, labels))).toHaveLength(1);
    }
    expect(ofKind('PodDisruptionBudget').length).toBeGreaterThanOrEqual(2);

    const [apiService] = ofKind('Service');
    const api = deployment('api');
    expect(matches(apiService?.spec?.selector as Record<string, string>, api.spec?.template?.metadata?.labels)).toBe(
      true,
    );
    expect(podSpecOf(api).containers[0]?.ports?.map((port) => port.name)).toContain(
      apiService?.spec?.ports?.[0]?.targetPort,
    );
  });

  it('runs the migrate command in the Job, the only workload given the owner connection', () => {
    const secretsOf = (object: K8sObject): string[] =>
      podSpecOf(object).containers.flatMap((container) =>
        (container.envFrom ?? []).flatMap((source) => source.secretRef?.name ?? []),
      );
    const jobPod = job ? podSpecOf(job) : undefined;

    expect(jobPod?.containers[0]?.args).toEqual(['migrate']);
    expect(jobPod?.restartPolicy).toBe('Never');
    expect(job ? secretsOf(job) : []).toEqual(['mail-service-secrets', 'mail-service-migration']);
    for (const object of deployments) expect(secretsOf(object)).toEqual(['mail-service-secrets']);
  });

  it('keeps secrets out of the ConfigMap and only known variables in it', () => {
    const data = configMap?.data ?? {};
    const configMapComment = read('deployment/k8s/10-configmap.yaml');

    for (const name of Object.keys(data))
      expect({ name, known: KNOWN_VARIABLES.has(name) }).toEqual({ name, known: true });
    for (const name of Object.keys(K8S_SECRET_VALUES)) {
      expect(data[name]).toBeUndefined();
      expect(configMapComment).toContain(name);
    }
    for (const object of workloads) {
      const sources = podSpecOf(object).containers[0]?.envFrom ?? [];
      expect(sources[0]?.configMapRef?.name).toBe('mail-service-config');
    }
  });

  it.each(['api', 'worker', 'scheduler', 'migrate'] as const)(
    'boots %s in production from the ConfigMap and the documented Secret keys',
    (role) => {
      const migration =
        role === 'migrate'
          ? { DATABASE_MIGRATION_URL: 'postgresql://postgres:placeholder@db.internal:5432/mail_service' }
          : {};
      const config = loadConfig({ ...configMap?.data, ...K8S_SECRET_VALUES, ...migration });

      expect(config.isProduction).toBe(true);
      for (const name of productionRequiredVariables()) {
        expect(
          (ALTERNATIVES[name] ?? [name]).some(
            (candidate) => candidate in K8S_SECRET_VALUES || candidate in (configMap?.data ?? {}),
          ),
        ).toBe(true);
      }
    },
  );
});
