import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import { useSession } from './stores/session';

// Screens users reach first are in the main bundle; the rest load on demand.
import ConversationsView from './views/ConversationsView.vue';
import LoginView from './views/LoginView.vue';

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/messages' },
  { path: '/login', component: LoginView, meta: { public: true } },
  { path: '/signup', component: () => import('./views/SignupView.vue'), meta: { public: true } },
  { path: '/verify-email', component: () => import('./views/VerifyEmailView.vue'), meta: { public: true } },
  { path: '/forgot-password', component: () => import('./views/ForgotPasswordView.vue'), meta: { public: true } },
  { path: '/reset-password', component: () => import('./views/ResetPasswordView.vue'), meta: { public: true } },
  { path: '/messages', component: ConversationsView },
  { path: '/messages/new', component: () => import('./views/NewMessageView.vue') },
  { path: '/messages/:id', component: () => import('./views/ThreadView.vue'), props: true },
  { path: '/calls', component: () => import('./views/CallsView.vue') },
  { path: '/calls/keypad', component: () => import('./views/DialerView.vue') },
  { path: '/numbers', component: () => import('./views/NumbersView.vue') },
  { path: '/numbers/new', component: () => import('./views/PickNumberView.vue') },
  { path: '/numbers/:id/rules', component: () => import('./views/CallRulesView.vue'), props: true },
  { path: '/balance', component: () => import('./views/BalanceView.vue') },
  { path: '/settings', component: () => import('./views/SettingsView.vue') },
  { path: '/:pathMatch(.*)*', component: () => import('./views/NotFoundView.vue'), meta: { public: true } },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach((to) => {
  const session = useSession();
  if (!to.meta['public'] && !session.signedIn) {
    return { path: '/login', query: to.fullPath !== '/messages' ? { next: to.fullPath } : {} };
  }
  if ((to.path === '/login' || to.path === '/signup') && session.signedIn) return '/messages';
  return true;
});
