// /admin/users: people who log in. Passwords are argon2id hashes that never leave the server.
import crypto from 'node:crypto';
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Context } from 'koa';
import { z } from 'zod';
import { hashPassword, passwordLength } from '../credentials/passwords.js';
import { badRequest, conflict, type HttpError, notFound } from '../http/errors.js';
import { readJsonBody } from '../http/json-body.js';
import type { Database } from '../stores/database.js';
import { revokedBeforeLifetime, type RevocationStore, type RevocationWriter } from '../stores/revocations/types.js';
import { isUniqueViolation } from '../stores/database.js';
import { resetMfa } from '../stores/mfa.js';
import { isStorableText } from '../stores/text.js';
import {
  deleteUser,
  findUserBySub,
  findUsernameConflict,
  insertUser,
  listUsers,
  updateUser,
  type UserRecord,
} from '../stores/users.js';
import { describeIssue } from './client-schema.js';
import { readPage } from './paging.js';

// No control characters or surrounding spaces: a username is typed by a person.
const username = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\s\p{Cc}](?:[^\p{Cc}]*[^\s\p{Cc}])?$/u, 'must not contain control characters or surrounding spaces');
const password = z
  .string()
  .min(passwordLength.min, `must be at least ${passwordLength.min} characters`)
  .max(passwordLength.max, `must be at most ${passwordLength.max} characters`);
const profile = {
  email: z.email().max(320).nullable().optional(),
  email_verified: z.boolean().optional(),
  name: z.string().max(256).nullable().optional(),
  given_name: z.string().max(256).nullable().optional(),
  family_name: z.string().max(256).nullable().optional(),
  disabled: z.boolean().optional(),
  mfa_required: z.boolean().optional(),
};

const createUserSchema = z.strictObject({ username, password, ...profile });
const updateUserSchema = z.strictObject({ username: username.optional(), password: password.optional(), ...profile });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw badRequest(describeIssue(parsed.error));
  return parsed.data;
}

function present(user: UserRecord): Record<string, unknown> {
  return {
    sub: user.sub,
    username: user.username,
    email: user.email ?? null,
    email_verified: user.emailVerified,
    name: user.name ?? null,
    given_name: user.givenName ?? null,
    family_name: user.familyName ?? null,
    disabled: user.disabled,
    mfa_required: user.mfaRequired,
    mfa_enrolled: user.mfaEnrolled,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

function subParam(ctx: Context): string {
  const sub = String((ctx.params as Record<string, string | undefined>).sub ?? '');
  if (sub.length === 0 || sub.length > 128 || !isStorableText(sub)) throw notFound('no user with this sub');
  return sub;
}

// 409 with what is in the way. A look-alike ("İris-x" beside "iris-x", "Jose" beside "José")
// is refused because a person cannot tell the two apart on a sign-in page or in a log.
async function usernameConflict(db: Database, username: string, exceptSub?: string): Promise<HttpError> {
  const existing = await findUsernameConflict(db, username, exceptSub);
  if (existing?.kind === 'lookalike') {
    return conflict(`the username "${username}" looks like the existing username "${existing.existing}"`);
  }
  return conflict(`the username "${username}" is taken`);
}

const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined;

// A disabled or deleted user's tokens stop working at once (docs/DESIGN.md "Revocation reach"). The
// revocation is written in the change's own transaction (RevocationStore.withChange), so a
// change is never made without it, whatever fails after.
async function revokeUserTokens(revocations: RevocationWriter, sub: string): Promise<void> {
  await revocations.revokeIssuedBefore('sub', sub, Date.now(), revokedBeforeLifetime);
}

export function createUserRoutes(deps: { db: Database; catalog: Catalog; revocations: RevocationStore }): Router {
  const router = createRouter('/users');

  router.post('/', async function createUser(ctx) {
    const input = parse(createUserSchema, await readJsonBody(ctx));
    const user = await insertUser(deps.db, {
      sub: crypto.randomUUID(),
      username: input.username,
      passwordHash: await hashPassword(input.password),
      email: orUndefined(input.email),
      emailVerified: input.email_verified ?? false,
      name: orUndefined(input.name),
      givenName: orUndefined(input.given_name),
      familyName: orUndefined(input.family_name),
      disabled: input.disabled ?? false,
      mfaRequired: input.mfa_required ?? false,
    });
    if (!user) throw await usernameConflict(deps.db, input.username);
    ctx.status = 201;
    ctx.set('Location', `/admin/users/${encodeURIComponent(user.sub)}`);
    ctx.body = present(user);
  });

  router.get('/', async function listAllUsers(ctx) {
    const page = readPage(ctx);
    const users = await listUsers(deps.db, { limit: page.limit + 1, after: page.after });
    ctx.body = {
      items: users.slice(0, page.limit).map(present),
      next_cursor: users.length > page.limit ? users[page.limit - 1]!.sub : null,
    };
  });

  router.get('/:sub', async function readUser(ctx) {
    const user = await findUserBySub(deps.db, subParam(ctx));
    if (!user) throw notFound('no user with this sub');
    ctx.body = present(user);
  });

  // Updates the fields given; `null` clears an optional profile field.
  router.put('/:sub', async function changeUser(ctx) {
    const sub = subParam(ctx);
    const input = parse(updateUserSchema, await readJsonBody(ctx));
    const user = await findUserBySub(deps.db, sub);
    if (!user) throw notFound('no user with this sub');
    const pick = <T>(value: T | null | undefined, current: T | undefined): T | undefined =>
      value === undefined ? current : orUndefined(value);
    const passwordHash = input.password ? await hashPassword(input.password) : user.passwordHash;
    let updated;
    try {
      updated = await deps.revocations.withChange(async (tx, revoke) => {
        const changed = await updateUser(tx, {
          sub,
          username: input.username ?? user.username,
          passwordHash,
          email: pick(input.email, user.email),
          emailVerified: input.email_verified ?? user.emailVerified,
          name: pick(input.name, user.name),
          givenName: pick(input.given_name, user.givenName),
          familyName: pick(input.family_name, user.familyName),
          disabled: input.disabled ?? user.disabled,
          mfaRequired: input.mfa_required ?? user.mfaRequired,
        });
        if (changed?.disabled && !user.disabled) await revokeUserTokens(revoke, sub);
        return changed;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw await usernameConflict(deps.db, input.username ?? user.username, sub);
      throw error;
    }
    if (!updated) throw notFound('no user with this sub');
    // This instance forgets the old profile now; the others when the NOTIFY reaches them.
    deps.catalog.invalidate({ type: 'user', id: sub });
    ctx.body = present(updated);
  });

  // Forgets the user's authenticator and recovery codes (a lost phone); they enrol again at the
  // next login if a second factor is required.
  router.delete('/:sub/mfa', async function resetSecondFactor(ctx) {
    const sub = subParam(ctx);
    if (!(await findUserBySub(deps.db, sub))) throw notFound('no user with this sub');
    await resetMfa(deps.db, sub);
    ctx.status = 204;
  });

  router.delete('/:sub', async function removeUser(ctx) {
    const sub = subParam(ctx);
    const deleted = await deps.revocations.withChange(async (tx, revoke) => {
      if (!(await deleteUser(tx, sub))) return false;
      await revokeUserTokens(revoke, sub);
      return true;
    });
    if (!deleted) throw notFound('no user with this sub');
    deps.catalog.invalidate({ type: 'user', id: sub });
    ctx.status = 204;
  });

  return router;
}
