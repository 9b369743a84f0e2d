import { DurableObject } from "cloudflare:workers";
import type { OrgStateRpc, PolicyPublication, RevocableClaims } from "../../../shared/contracts/org-state.ts";
import type {
  BrowserGrantRevocation,
  BrowserGrantRevocationOutcome,
  RevocationChanges,
  RevocationEvent,
  RevocationSnapshot,
  RevocationSync,
  SubjectRevocationsOutcome,
  TokenRevocation,
  TokenRevocationOutcome,
} from "../../../shared/contracts/revocation.ts";
import { runOrgAlarm } from "./org-alarm.ts";
import { OrgStore } from "./org-store.ts";
import { publishPolicyVersion, readPolicyPublication } from "./policy-publication.ts";
import { RevocationLog } from "./revocation-log.ts";
import { MIRROR_DELAY_MS, RevocationMirror } from "./revocation-mirror.ts";
import { RevocationReader } from "./revocation-reads.ts";
import { RevocationRecorder } from "./revocation-recording.ts";
import { RevocationSubscribers } from "./revocation-subscribers.ts";

/**
 * The bindings this object uses, spelled here rather than taken from
 * Cloudflare.Env: the other Workers type-check this class under their own
 * Env (scripts/workers.mjs `typesWith`), which need not bind KV.
 */
interface OrgStateBindings {
  /** Where the snapshot is mirrored for cold gateway isolates (revocation-mirror.ts). */
  KV: KVNamespace;
}

/**
 * The strongly consistent control state of one organization (one object per
 * org, named by orgStateName): its revocations and which policy version is
 * current. Its storage is laid out in org-store.ts (docs/storage-schema.md).
 *
 * This class is the RPC surface other Workers call (OrgStateRpc): each
 * method hands its work to the part that owns it — recording revocations
 * (revocation-recording.ts), reading them (revocation-reads.ts), policy
 * publication (policy-publication.ts), the live stream
 * (revocation-subscribers.ts) and the alarm's cleanup and KV mirror
 * (org-alarm.ts).
 *
 * Every call that names an org must name this object's own (own-org.ts):
 * anything else is refused with OrgMismatchError (ERR_ORG_STATE_WRONG_ORG).
 */
export class OrgState extends DurableObject<OrgStateBindings> implements OrgStateRpc {
  private readonly store: OrgStore;
  private readonly log: RevocationLog;
  private readonly subscribers: RevocationSubscribers;
  private readonly mirror: RevocationMirror;
  private readonly recorder: RevocationRecorder;
  private readonly reader: RevocationReader;

  constructor(ctx: DurableObjectState, env: OrgStateBindings) {
    super(ctx, env);
    this.store = new OrgStore(ctx);
    this.log = new RevocationLog(this.store.sql);
    this.mirror = new RevocationMirror(this.store.sql, env.KV);
    this.subscribers = new RevocationSubscribers(ctx, this.log, () => ({
      version: this.store.version(),
      policyVersion: this.store.policyVersion(),
    }));
    this.recorder = new RevocationRecorder(this.store, this.log, this.subscribers);
    this.reader = new RevocationReader(this.store, this.log);
    // Before any call: an alarm a stop between a commit and its setAlarm lost (OrgStore.rearmAlarm).
    void ctx.blockConcurrencyWhile(() => this.store.rearmAlarm(MIRROR_DELAY_MS));
  }

  /**
   * The live revocation stream (revocation-subscribers.ts): the only HTTP
   * this object serves, reached through `stub.fetch` by the admin API
   * (workers/token/src/revocations/), which authenticates the caller, and
   * by gateways for their push channel (GATEWAY_CHANNEL_PATH).
   */
  override async fetch(request: Request): Promise<Response> {
    return this.subscribers.connect(request);
  }

  /** Subscribers only listen; anything but the runtime-answered "ping" is ignored. */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    try {
      socket.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // Already closed by the runtime's automatic close reply.
    }
  }

  /** Records one revocation (a value of 1..256 characters); returns the new version (RevocationRecorder.revoke). */
  async revoke(event: RevocationEvent, jtiExpiresAt?: number, slackSeconds?: number): Promise<number> {
    return this.recorder.revoke(event, jtiExpiresAt, slackSeconds);
  }

  /** Records up to MAX_SUBJECT_REVOCATIONS_PER_CALL people's cut-offs in one transaction (RevocationRecorder.revokeSubjects). */
  async revokeSubjects(events: readonly RevocationEvent[]): Promise<SubjectRevocationsOutcome> {
    return this.recorder.revokeSubjects(events);
  }

  /** Records an RFC 7009 revocation, folding its client's entries past the caps (RevocationRecorder.revokeToken). */
  async revokeToken(revocation: TokenRevocation): Promise<TokenRevocationOutcome> {
    return this.recorder.revokeToken(revocation);
  }

  /** Records a browser grant's revocation, folding its person's entries at its client (RevocationRecorder.revokeBrowserGrant). */
  async revokeBrowserGrant(revocation: BrowserGrantRevocation): Promise<BrowserGrantRevocationOutcome> {
    return this.recorder.revokeBrowserGrant(revocation);
  }

  /** The events since `after`, or the whole snapshot (RevocationReader.sync). */
  async sync(orgId: string, after: number | null): Promise<RevocationSync> {
    return this.reader.sync(orgId, after);
  }

  /** The events after version `after` (one page), or "resync" when some are no longer logged. */
  async changesSince(after: number): Promise<RevocationChanges> {
    return this.reader.changesSince(after);
  }

  /** One token against the live entries, each looked up by key (RevocationReader.isRevoked). */
  async isRevoked(claims: RevocableClaims): Promise<boolean> {
    return this.reader.isRevoked(claims);
  }

  /** isRevoked for several tokens of this org in one call, in order. */
  async areRevoked(claims: readonly RevocableClaims[]): Promise<boolean[]> {
    return this.reader.areRevoked(claims);
  }

  /** The live revocations, for gateways to cache within their staleness bound. */
  async snapshot(orgId: string): Promise<RevocationSnapshot> {
    return this.reader.snapshot(orgId);
  }

  /** Makes `version` the current policy version (policy-publication.ts). */
  async setPolicyVersion(version: number): Promise<PolicyPublication> {
    return publishPolicyVersion(this.store, this.subscribers, version);
  }

  async policyPublication(): Promise<PolicyPublication> {
    return readPolicyPublication(this.store);
  }

  /** Drops what has expired and brings the KV mirror up to date (org-alarm.ts). */
  override async alarm(): Promise<void> {
    await runOrgAlarm(this.store, this.log, this.mirror, (orgId) => this.reader.snapshot(orgId));
  }
}
