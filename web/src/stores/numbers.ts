// The user's phone numbers.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { api, call, type PhoneNumber } from '@/api/client';

export const useNumbers = defineStore('numbers', () => {
  const numbers = ref<PhoneNumber[]>([]);
  const loaded = ref(false);

  async function load() {
    const r = await call(() => api.GET('/v1/numbers', { params: { query: { limit: 100 } } }));
    numbers.value = r.data;
    loaded.value = true;
  }

  const active = computed(() => numbers.value.filter((n) => n.state === 'active'));

  return { numbers, active, loaded, load, reset: () => ((numbers.value = []), (loaded.value = false)) };
});
