// What every page may need from the shell: the session, and a way to sign in again (expired session, step-up).
import { createContext, useContext } from 'react';
import type { PortalSettings, Session } from './auth';

export interface Shell {
  settings: PortalSettings;
  session: Session;
  signInAgain: (opts?: { stepUp?: boolean; returnTo?: string }) => void;
}

export const ShellContext = createContext<Shell | null>(null);

export function useShell(): Shell {
  const shell = useContext(ShellContext);
  if (!shell) throw new Error('useShell outside the signed-in shell');
  return shell;
}
