// The typed API client. Types come from the OpenAPI document the server
// serves (`npm run gen:api` writes src/api/schema.d.ts from
// ../api/openapi.json at every build), so a route or field the server does not
// have fails the type check instead of failing in users' hands.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type User = Schemas['User'];
export type Tokens = Schemas['Tokens'];
export type Conversation = Schemas['Conversation'];
export type Message = Schemas['Message'];
export type PhoneNumber = Schemas['Number'];
export type AvailableNumber = Schemas['AvailableNumber'];
export type Call = Schemas['Call'];
export type Branding = Schemas['Branding'];
export type Balance = Schemas['Balance'];
export type LedgerEntry = Schemas['LedgerEntry'];
export type RateQuote = Schemas['RateQuote'];
export type SipCredential = Schemas['SipCredential'];
export type Session = Schemas['Session'];

// An RFC 9457 problem from the API (or a network failure, status 0).
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly problem: Record<string, unknown> = {},
  ) {
    super(detail || code || `HTTP ${status}`);
  }
  get errors(): { field?: string; detail?: string; pointer?: string }[] {
    const e = this.problem['errors'];
    return Array.isArray(e) ? (e as { field?: string; detail?: string }[]) : [];
  }
}

// Where the access token comes from and what to do when it has expired;
// set by the session store.
export interface TokenSource {
  access(): string | null;
  refresh(): Promise<boolean>;
}
let tokens: TokenSource = { access: () => null, refresh: async () => false };
export function setTokenSource(t: TokenSource) {
  tokens = t;
}

const auth: Middleware = {
  onRequest({ request }) {
    const t = tokens.access();
    if (t && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${t}`);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: '' });
api.use(auth);

async function toError(res: Response | undefined, body: unknown): Promise<ApiError> {
  if (!res) return new ApiError(0, 'network', 'The server cannot be reached. Check your connection.');
  const p = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  return new ApiError(
    res.status,
    String(p['code'] ?? `http_${res.status}`),
    String(p['detail'] ?? p['title'] ?? res.statusText),
    p,
  );
}

// Runs an API call, retrying once after a token refresh on 401, and returns
// its data or throws an ApiError.
export async function call<T>(
  fn: () => Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await fn();
    if (r.response.status === 401 && (await tokens.refresh())) r = await fn();
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw await toError(undefined, undefined);
  }
  if (r.error !== undefined || !r.response.ok) throw await toError(r.response, r.error);
  return r.data as T;
}

export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}
