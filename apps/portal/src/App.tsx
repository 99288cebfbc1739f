// The portal's shell: sign-in, the navigation for the person's roles, and the page the address names. A page that
// fails to render shows a message, never a blank screen or a stack trace.
import { Component, useMemo, useState, type ReactNode } from 'react';
import { forgetSession, signIn, signOut, type PortalSettings, type Role, type Session } from './auth';
import { ShellContext, type Shell } from './context';
import { useRoute } from './router';
import { ApplicationPage } from './pages/Application';
import { DatasetsPage } from './pages/Datasets';
import { EstimatePage } from './pages/Estimate';
import { CleanroomsPage } from './pages/Cleanrooms';
import { SubscriptionsPage, SubscriptionPage } from './pages/Subscriptions';
import { BillingPage } from './pages/Billing';
import { IngestsPage } from './pages/Ingests';
import { PayoutsPage } from './pages/Payouts';
import { BuyersPage } from './pages/Buyers';
import { DatasetSettingsPage } from './pages/DatasetSettings';
import { HealthPage } from './pages/Health';
import { OperatorSchemasPage, ProviderSchemasPage } from './pages/Schemas';
import { LicensesPage } from './pages/Licenses';

interface Page {
  path: string;
  label: string;
  role: Role;
  render: (params: URLSearchParams, rest: string) => ReactNode;
}

const pages: Page[] = [
  { path: '/application', label: 'Application', role: 'consumer', render: () => <ApplicationPage /> },
  { path: '/datasets', label: 'Datasets', role: 'consumer', render: () => <DatasetsPage /> },
  { path: '/estimate', label: 'Estimate & buy', role: 'consumer', render: (p) => <EstimatePage dataset={p.get('dataset')} /> },
  { path: '/cleanrooms', label: 'Cleanrooms', role: 'consumer', render: () => <CleanroomsPage /> },
  { path: '/subscriptions', label: 'Subscriptions', role: 'consumer', render: (_p, rest) => (rest ? <SubscriptionPage id={rest} /> : <SubscriptionsPage />) },
  { path: '/billing', label: 'Billing', role: 'consumer', render: () => <BillingPage /> },
  { path: '/ingests', label: 'Ingest report', role: 'provider', render: () => <IngestsPage /> },
  { path: '/licenses', label: 'Licenses', role: 'provider', render: () => <LicensesPage /> },
  { path: '/payouts', label: 'Payouts', role: 'provider', render: () => <PayoutsPage /> },
  { path: '/schemas', label: 'Schemas', role: 'provider', render: () => <ProviderSchemasPage /> },
  { path: '/buyers', label: 'Buyers', role: 'operator', render: () => <BuyersPage /> },
  { path: '/pending-schemas', label: 'Schemas', role: 'operator', render: () => <OperatorSchemasPage /> },
  { path: '/dataset-settings', label: 'Prices & cohorts', role: 'operator', render: () => <DatasetSettingsPage /> },
  { path: '/health', label: 'System health', role: 'operator', render: () => <HealthPage /> },
];

class PageBoundary extends Component<{ children: ReactNode; resetKey: string }, { failed: boolean; key: string }> {
  override state = { failed: false, key: this.props.resetKey };
  static getDerivedStateFromError(): Partial<{ failed: boolean }> {
    return { failed: true };
  }
  static getDerivedStateFromProps(props: { resetKey: string }, state: { failed: boolean; key: string }) {
    return props.resetKey !== state.key ? { failed: false, key: props.resetKey } : null;
  }
  override render() {
    if (this.state.failed) {
      return (
        <div role="alert" className="problem">
          <p className="problem-title">This page could not be shown</p>
          <p>Something unexpected happened while showing this page. Reload the page; if it happens again, tell your operator.</p>
        </div>
      );
    }
    return this.props.children;
  }
}

function SignedOut({ settings, reason }: { settings: PortalSettings; reason: string | null }) {
  return (
    <main id="main" className="page narrow">
      <h1>Atoll portal</h1>
      <p>Buy exactly the licensed data you need, follow your deliveries and charges, and run your data marketplace.</p>
      {reason ? (
        <div role="alert" className="problem">
          <p>{reason}</p>
        </div>
      ) : null}
      <button type="button" className="primary" onClick={() => void signIn(settings, { returnTo: window.location.hash })}>
        Sign in
      </button>
    </main>
  );
}

export function App({ settings, initialSession, signInError }: { settings: PortalSettings; initialSession: Session | 'expired' | null; signInError: string | null }) {
  const [session] = useState(initialSession);
  const route = useRoute();
  const shell = useMemo<Shell | null>(
    () =>
      session && session !== 'expired'
        ? {
            settings,
            session,
            signInAgain: (opts) => {
              forgetSession();
              void signIn(settings, { returnTo: opts?.returnTo ?? window.location.hash, ...(opts?.stepUp ? { stepUp: true } : {}) });
            },
          }
        : null,
    [session, settings],
  );
  if (!shell) {
    if (session === 'expired') forgetSession();
    return <SignedOut settings={settings} reason={signInError ?? (session === 'expired' ? 'Your session has expired. Sign in again to continue.' : null)} />;
  }
  const mine = pages.filter((p) => shell.session.roles.includes(p.role));
  const [, first = '', rest = ''] = route.path.split('/', 3);
  const page = pages.find((p) => p.path === `/${first}`);
  let content: ReactNode;
  if (!page) {
    content = mine[0] ? (
      <Home session={shell.session} pages={mine} />
    ) : (
      <div role="alert" className="problem">
        <p className="problem-title">No Atoll role</p>
        <p>Your account has no operator, provider or consumer role yet. Ask your operator to grant one.</p>
      </div>
    );
  } else if (!shell.session.roles.includes(page.role)) {
    content = (
      <div role="alert" className="problem">
        <h1>{page.label}</h1>
        <p className="problem-title">Not allowed for your account</p>
        <p>
          This page is for the {page.role} role; you are signed in as {shell.session.username} with {shell.session.roles.join(', ') || 'no Atoll role'}. Sign in
          with an account that has the {page.role} role.
        </p>
      </div>
    );
  } else {
    content = page.render(route.params, decodeURIComponent(rest));
  }
  return (
    <ShellContext.Provider value={shell}>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Atoll</span>
        <nav aria-label="Main">
          <ul>
            {mine.map((p) => (
              <li key={p.path}>
                <a href={`#${p.path}`} aria-current={page?.path === p.path ? 'page' : undefined}>
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span>
            {shell.session.username} <span className="muted">({shell.session.roles.join(', ')})</span>
          </span>
          <button type="button" onClick={() => signOut(settings, shell.session)}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="page">
        <PageBoundary resetKey={route.path}>{content}</PageBoundary>
      </main>
    </ShellContext.Provider>
  );
}

function Home({ session, pages: mine }: { session: Session; pages: Page[] }) {
  return (
    <>
      <h1>Welcome, {session.username}</h1>
      <ul className="cards">
        {mine.map((p) => (
          <li key={p.path}>
            <a href={`#${p.path}`}>{p.label}</a>
          </li>
        ))}
      </ul>
    </>
  );
}
