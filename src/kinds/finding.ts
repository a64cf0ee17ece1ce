import type { ErrorCode } from '../errors/catalog.js';
import type { CloudName, TokenResource } from '../model.js';
import type { RotationCode } from '../rotation/rotationError.js';
import type { RotationFacts } from '../rotation/rotationFacts.js';

/**
 * What the doctor can name beyond the service's own codes: where a rejected key belongs, the
 * check of the service a credential opens, and why a rotation would fail (`rotation_permission_missing`, …).
 */
export type DoctorCause =
  | ErrorCode
  | RotationCode
  | 'region_mismatch'
  | 'cloud_mismatch'
  | 'token_rejected_by_service'
  | 'speech_endpoint_not_found';

/** One line of the doctor's report: a resource (or `(callers)`), whether it works, and if not why and what to do. */
export interface Finding {
  readonly resource: string;
  readonly ok: boolean;
  readonly cause: DoctorCause | null;
  readonly detail: string;
  readonly fix: string | null;
  /** With --locate: where the key was accepted instead. */
  readonly foundAt?: { readonly cloud: CloudName; readonly region: string };
  /** What works but should be fixed: a key stored with whitespace, an expired secret version. */
  readonly warnings?: readonly string[];
  /** For a resource with a `resourceId`: the key in use, its age, the next rotation. */
  readonly rotation?: RotationFacts;
}

/** How a kind's probe runs. */
export interface ProbeOptions {
  /**
   * Sends the key to the other regional endpoints of the resource's own cloud to find where it
   * belongs (`npm run doctor -- --locate`).
   */
  readonly locate?: boolean;
  /**
   * With `locate`: the other clouds too (`--all-clouds`). Off by default: Azure China is run by
   * another operator (21Vianet), and US Government is a cloud of its own; a key is sent there only
   * when the operator asks.
   */
  readonly locateAllClouds?: boolean;
  /** How many regions are tried at once with --locate. Default 6. */
  readonly locateConcurrency?: number;
  /**
   * Where a shared credential comes from. Default: a probe at the upstream. The self-check passes
   * the token cache, so a fresh token costs no upstream call.
   */
  readonly obtainToken?: (resource: TokenResource) => Promise<string>;
  /**
   * Also check that the identity may do every step of a scheduled key rotation: the account's
   * effective permissions (an ARM call) and the secret version's tags written back unchanged (a
   * Key Vault PATCH, which would undo a tag edited since it was read). The doctor's own run does;
   * default off, so the self-check, every few minutes, only reads.
   */
  readonly checkRotationPermissions?: boolean;
}
