// The signed-in user and their tokens. The refresh token rotates on every use,
// so tabs share the tokens through localStorage and refresh under a Web Lock:
// two tabs never present the same refresh token.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { api, call, setTokenSource, type Tokens, type User } from '@/api/client';

const KEY = 'rh.tokens';

interface Stored {
  access: string;
  access_expires: number; // ms since the epoch
  refresh: string;
}

function load(): Stored | null {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Stored | null;
    return v && typeof v.refresh === 'string' ? v : null;
  } catch {
    return null;
  }
}

function withLock<T>(fn: () => Promise<T>): Promise<T> {
  if (navigator.locks) return navigator.locks.request(KEY, fn) as Promise<T>;
  return fn();
}

export const useSession = defineStore('session', () => {
  const user = ref<User | null>(null);
  const stored = ref<Stored | null>(load());
  const ready = ref(false);

  function save(t: Tokens) {
    stored.value = {
      access: t.access_token,
      access_expires: Date.now() + (t.expires_in - 30) * 1000,
      refresh: t.refresh_token,
    };
    localStorage.setItem(KEY, JSON.stringify(stored.value));
  }

  function clear() {
    stored.value = null;
    user.value = null;
    localStorage.removeItem(KEY);
  }

  async function refresh(): Promise<boolean> {
    return withLock(async () => {
      const latest = load(); // another tab may have rotated it already
      if (latest && latest.refresh !== stored.value?.refresh && latest.access_expires > Date.now()) {
        stored.value = latest;
        return true;
      }
      const token = latest?.refresh ?? stored.value?.refresh;
      if (!token) return false;
      const r = await api.POST('/v1/auth/refresh', { body: { refresh_token: token } });
      if (!r.data) {
        if (r.response.status === 401 || r.response.status === 422 || r.response.status === 400) clear();
        return false;
      }
      save(r.data);
      return true;
    });
  }

  setTokenSource({
    access: () => stored.value?.access ?? null,
    refresh,
  });

  window.addEventListener('storage', (e) => {
    if (e.key !== KEY) return;
    stored.value = load();
    if (!stored.value) user.value = null;
  });

  async function restore() {
    if (stored.value) {
      if (stored.value.access_expires < Date.now()) await refresh();
      if (stored.value) {
        try {
          user.value = await call(() => api.GET('/v1/me'));
        } catch {
          /* offline or signed out: the router sends to the login screen */
        }
      }
    }
    ready.value = true;
  }

  async function login(email: string, password: string, totp_code?: string) {
    const r = await call(() =>
      api.POST('/v1/auth/login', { body: { email, password, ...(totp_code ? { totp_code } : {}) } }),
    );
    save(r);
    user.value = r.user;
    void adoptTimeZone();
  }

  async function logout() {
    try {
      await api.POST('/v1/auth/logout');
    } finally {
      clear();
    }
  }

  // A new account takes this browser's time zone (DND schedules and times
  // are in it) until the user picks another in Settings.
  async function adoptTimeZone() {
    const u = user.value;
    if (!u || u.time_zone) return;
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!tz || !/^[A-Za-z0-9/_+-]{1,64}$/.test(tz)) return;
    try {
      user.value = await call(() => api.PATCH('/v1/me', { body: { time_zone: tz } }));
    } catch {
      /* not important enough to bother the user */
    }
  }

  async function reloadUser() {
    user.value = await call(() => api.GET('/v1/me'));
  }

  return {
    user,
    ready,
    signedIn: computed(() => user.value !== null),
    sessionId: computed(() => {
      const a = stored.value?.access;
      if (!a) return null;
      try {
        const payload = JSON.parse(atob(a.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')));
        return (payload.sid ?? payload.session_id ?? null) as string | null;
      } catch {
        return null;
      }
    }),
    restore,
    login,
    logout,
    refresh,
    reloadUser,
    clear,
  };
});
