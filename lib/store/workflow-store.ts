import { decode } from './codes.js';
import { allShards, globalKeys, shardOf, tenantKeys } from './keys.js';
import type { ScriptRedis } from './scripts.js';

export interface WorkflowRevision {
  revision: number;
  version: string;
  digest: string;
  createdAt: string;
  /** The parsed spec as JSON text. */
  spec: string;
}

/** How many workflows' latest revision numbers a process remembers (see `latest`). */
const LATEST_SEEN_MAX = 1_000;

/** Registered workflows: numbered revisions per tenant and name. */
export function createWorkflowStore(redis: ScriptRedis, prefix: string) {
  /** The latest revision number last read per workflow key: a guess, checked on every read. */
  const latestSeen = new Map<string, string>();
  const parseRevision = (raw: string, revision: number): WorkflowRevision => ({
    ...(JSON.parse(raw) as Omit<WorkflowRevision, 'revision'>),
    revision,
  });

  return {
    async register(
      tenant: string,
      name: string,
      rev: Omit<WorkflowRevision, 'revision'>,
      hasCron: boolean,
    ): Promise<{ revision: number; created: boolean }> {
      const t = tenantKeys(prefix, tenant);
      const added = decode.registerWorkflow(
        await redis.registerWorkflow(
          t.workflow(name),
          t.workflows,
          name,
          rev.digest,
          JSON.stringify(rev),
        ),
      );
      const { revision } = added;
      const created = added.kind === 'added';
      // The cron index is global (another slot), so it is kept beside the script:
      // the schedule tick re-reads the latest revision and ignores stale members.
      const member = `${tenant}/${name}`;
      const cron = globalKeys(prefix).cronWorkflows(shardOf(member));
      if (hasCron) await redis.sadd(cron, member);
      else await redis.srem(cron, member);
      return { revision, created };
    },

    /**
     * The latest revision in one request when nothing was registered since the last
     * read: `latest` and the revision it named last time come in one HMGET, and the
     * guess is used only if `latest` still names it; else a second read fetches it.
     */
    async latest(tenant: string, name: string): Promise<WorkflowRevision | undefined> {
      const key = tenantKeys(prefix, tenant).workflow(name);
      const guess = latestSeen.get(key);
      const [latest, raw] = guess
        ? await redis.hmget(key, 'latest', `rev:${guess}`)
        : [await redis.hget(key, 'latest'), null];
      if (!latest) return undefined;
      if (latestSeen.size >= LATEST_SEEN_MAX && !latestSeen.has(key)) latestSeen.clear();
      latestSeen.set(key, latest);
      if (latest === guess && raw) return parseRevision(raw, Number(latest));
      return this.revision(tenant, name, Number(latest));
    },

    async revision(
      tenant: string,
      name: string,
      revision: number,
    ): Promise<WorkflowRevision | undefined> {
      const raw = await redis.hget(tenantKeys(prefix, tenant).workflow(name), `rev:${revision}`);
      return raw ? parseRevision(raw, revision) : undefined;
    },

    async revisions(tenant: string, name: string): Promise<WorkflowRevision[]> {
      const all = await redis.hgetall(tenantKeys(prefix, tenant).workflow(name));
      return Object.entries(all)
        .filter(([field]) => field.startsWith('rev:'))
        .map(([field, raw]) => ({
          ...(JSON.parse(raw) as Omit<WorkflowRevision, 'revision'>),
          revision: Number(field.slice(4)),
        }))
        .sort((a, b) => a.revision - b.revision);
    },

    async names(tenant: string): Promise<string[]> {
      return (await redis.smembers(tenantKeys(prefix, tenant).workflows)).sort();
    },

    async cronMembers(): Promise<{ tenant: string; name: string }[]> {
      const shards = await Promise.all(
        allShards().map((shard) => redis.smembers(globalKeys(prefix).cronWorkflows(shard))),
      );
      return shards.flat().map((m) => {
        const slash = m.indexOf('/');
        return { tenant: m.slice(0, slash), name: m.slice(slash + 1) };
      });
    },
  };
}

export type WorkflowStore = ReturnType<typeof createWorkflowStore>;
