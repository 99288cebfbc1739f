// The portal's entry: load its settings, finish a sign-in when Keycloak just sent the browser back, then render.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { completeSignIn, currentSession, loadSettings, type PortalSettings } from './auth';
import './styles.css';

const root = createRoot(document.getElementById('root')!);

async function start(): Promise<void> {
  let settings: PortalSettings;
  try {
    settings = await loadSettings();
  } catch {
    root.render(
      <main className="page" id="main">
        <h1>Atoll portal</h1>
        <p role="alert" className="problem">The portal could not load its settings from the Atoll API (network error or the API is down). Reload the page to try again.</p>
      </main>,
    );
    return;
  }
  const finished = await completeSignIn(settings);
  const session = finished && 'session' in finished ? finished.session : currentSession();
  root.render(
    <StrictMode>
      <App settings={settings} initialSession={session} signInError={finished && 'error' in finished ? finished.error : null} />
    </StrictMode>,
  );
}

void start();
