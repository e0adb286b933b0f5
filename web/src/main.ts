import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
import { router } from './router';
import { useBranding } from './stores/branding';
import { useSession } from './stores/session';
import './styles.css';

const app = createApp(App);
app.use(createPinia());
const branding = useBranding();
const session = useSession();
void branding.load();
void session.restore().then(() => {
  app.use(router);
  app.mount('#app');
});

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js').catch(() => undefined);
  });
}
