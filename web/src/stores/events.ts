// Live events for the signed-in user: a long poll on GET /v1/events that
// hands each event to the stores that care (new messages, status changes,
// calls). Reconnects with back-off; stops when the user signs out.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { api } from '@/api/client';
import { useSession } from './session';

export interface LiveEvent {
  id: string;
  type: string;
  created_at: string;
  data: Record<string, unknown>;
}
type Listener = (e: LiveEvent) => void;

export const useEvents = defineStore('events', () => {
  const connected = ref(false);
  const listeners = new Set<Listener>();
  let running = false;
  let generation = 0;
  let abort: AbortController | null = null;

  function on(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  }

  async function loop(gen: number) {
    let cursor: string | undefined;
    let backoff = 500;
    while (running && gen === generation) {
      abort = new AbortController();
      try {
        const r = await api.GET('/v1/events', {
          params: { query: cursor ? { after: cursor, wait: 20 } : {} },
          signal: abort.signal,
        });
        if (!r.data) {
          connected.value = false;
          if (r.response.status === 401) {
            if (!(await useSession().refresh())) break;
            continue;
          }
          throw new Error(`events: ${r.response.status}`);
        }
        const first = cursor === undefined;
        connected.value = true;
        backoff = 500;
        cursor = r.data.next;
        // A (re)connection may have missed events: let the stores catch up.
        if (first) for (const l of listeners) l({ id: '', type: 'stream.connected', created_at: '', data: {} });
        for (const e of r.data.data) for (const l of listeners) l(e as LiveEvent);
      } catch {
        if (!running || gen !== generation) break;
        connected.value = false;
        await new Promise((res) => setTimeout(res, backoff));
        backoff = Math.min(backoff * 2, 15_000);
      }
    }
  }

  function start() {
    if (running) return;
    running = true;
    void loop(++generation);
  }

  function stop() {
    running = false;
    generation++;
    abort?.abort();
    connected.value = false;
  }

  return { connected, on, start, stop };
});
