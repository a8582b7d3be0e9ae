// TOTP (RFC 6238) second factor: enrolment (secret, otpauth URI as a QR code, recovery codes)
// and verification (one step of clock drift either way; each code accepted once).
import crypto from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import type { Database } from '../stores/database.js';
import { acceptTotpStep, consumeRecoveryCode, findMfaState, replaceRecoveryCodes, setPendingTotpSecret } from '../stores/mfa.js';
import type { SecretBox } from './secret-box.js';

export interface Enrolment {
  secret: string;
  qrSvg: string;
  recoveryCodes: string[];
  /**
   * The secret and recovery codes, encrypted under the data key, for the pending sign-in to
   * hold: a wrong code re-renders the same page from it instead of generating new ones (which
   * would invalidate what the user already scanned and wrote down).
   */
  sealed: string;
}

const recoveryAlphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** 16 characters of a 32-letter alphabet: 80 bits, shown as XXXX-XXXX-XXXX-XXXX. */
function newRecoveryCode(): string {
  const bytes = crypto.randomBytes(16);
  const chars = [...bytes].map((byte) => recoveryAlphabet[byte % 32]!).join('');
  return chars.match(/.{4}/g)!.join('-');
}

function digestRecoveryCode(code: string): string {
  const normalised = code.toUpperCase().replace(/[^A-Z0-9]/g, '');
  return crypto.createHash('sha256').update(normalised).digest('hex');
}

export function createTotp(deps: { db: Database; box: SecretBox; issuerName: string }) {
  async function present(username: string, secret: string, recoveryCodes: string[]): Promise<Enrolment> {
    const uri = generateURI({ issuer: deps.issuerName, label: username, secret });
    const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
    return { secret, qrSvg, recoveryCodes, sealed: deps.box.seal(JSON.stringify({ secret, recoveryCodes })) };
  }

  return {
    async startEnrolment(sub: string, username: string): Promise<Enrolment> {
      const secret = generateSecret();
      const recoveryCodes = Array.from({ length: 10 }, newRecoveryCode);
      await deps.db.transaction(async (tx) => {
        await setPendingTotpSecret(tx, sub, deps.box.seal(secret));
        await replaceRecoveryCodes(tx, sub, recoveryCodes.map(digestRecoveryCode));
      });
      return present(username, secret, recoveryCodes);
    },

    /** The enrolment page's content again, from what startEnrolment sealed. */
    async reopenEnrolment(sealed: string, username: string): Promise<Enrolment> {
      const { secret, recoveryCodes } = JSON.parse(deps.box.open(sealed)) as { secret: string; recoveryCodes: string[] };
      return present(username, secret, recoveryCodes);
    },

    async verifyCode(sub: string, code: string): Promise<boolean> {
      if (!/^\d{6}$/.test(code)) return false;
      const state = await findMfaState(deps.db, sub);
      if (!state?.totpSecret) return false;
      const result = await verify({
        secret: deps.box.open(state.totpSecret),
        token: code,
        epochTolerance: 30,
        afterTimeStep: state.totpLastStep,
      });
      if (!result.valid || !('timeStep' in result)) return false;
      return acceptTotpStep(deps.db, sub, result.timeStep);
    },

    async useRecoveryCode(sub: string, code: string): Promise<boolean> {
      if (code.length > 64) return false;
      return consumeRecoveryCode(deps.db, sub, digestRecoveryCode(code));
    },
  };
}

export type Totp = ReturnType<typeof createTotp>;
