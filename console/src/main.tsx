import '@mantine/core/styles.css';
import {
  AppShell,
  Button,
  Group,
  MantineProvider,
  NavLink,
  Select,
  Text,
  createTheme,
  type CSSVariablesResolver,
} from '@mantine/core';
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { api, setCsrfToken, type Session } from './api.ts';
import { LANGUAGES, type Language, type Texts } from './i18n.ts';
import { Integrations } from './Integrations.tsx';
import { Monitor } from './Monitor.tsx';
import { Deliveries } from './Deliveries.tsx';
import { Jobs } from './Jobs.tsx';
import { Audit } from './Audit.tsx';
import { Exports } from './Exports.tsx';
import { SignIn } from './SignIn.tsx';

// Mantine's default primary shade (6) fails WCAG AA contrast for white text (3.55:1); 8 passes.
const theme = createTheme({ primaryShade: { light: 8, dark: 8 } });
// Its error red (red.6) and dimmed grey (gray.6) on white are about 3.3:1 where AA needs 4.5:1.
const contrast: CSSVariablesResolver = () => ({
  variables: {},
  light: {
    '--mantine-color-error': 'var(--mantine-color-red-9)',
    '--mantine-color-dimmed': 'var(--mantine-color-gray-7)',
  },
  dark: {},
});

const PAGES = ['integrations', 'monitor', 'deliveries', 'jobs', 'exports', 'audit'] as const;
type Page = (typeof PAGES)[number];
const pageOf = (hash: string): Page => PAGES.find((page) => `#${page}` === hash) ?? 'integrations';

const NAV_LABELS = {
  integrations: 'navIntegrations',
  monitor: 'navMonitor',
  deliveries: 'navDeliveries',
  jobs: 'navJobs',
  exports: 'navExports',
  audit: 'navAudit',
} as const satisfies Record<Page, keyof Texts>;

function App() {
  const [language, setLanguage] = useState<Language>(
    (localStorage.getItem('spx-language') as Language | null) ?? 'en',
  );
  const [session, setSession] = useState<Session | null | undefined>();
  const [page, setPage] = useState(pageOf(window.location.hash));
  useEffect(() => {
    const follow = () => setPage(pageOf(window.location.hash));
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);
  const texts = LANGUAGES[language] ?? LANGUAGES.en;

  useEffect(() => {
    document.documentElement.lang = language;
    localStorage.setItem('spx-language', language);
  }, [language]);
  useEffect(() => {
    api<Session>('GET', '/api/v1/console/session').then(
      (found) => signedIn(found),
      () => setSession(null),
    );
  }, []);
  const signedIn = (found: Session) => {
    setCsrfToken(found.csrf_token);
    setSession(found);
  };
  const signOut = async () => {
    await api('DELETE', '/api/v1/console/session');
    setCsrfToken(undefined);
    setSession(null);
  };

  const languagePicker = (
    <Select
      label={texts.language}
      data={[
        { value: 'en', label: 'English' },
        { value: 'fr', label: 'Français' },
      ]}
      value={language}
      onChange={(value) => value && setLanguage(value)}
      allowDeselect={false}
      w={140}
    />
  );

  if (session === undefined) {
    return null;
  }
  if (session === null) {
    return (
      <>
        <Group justify="flex-end" p="md">
          {languagePicker}
        </Group>
        <SignIn texts={texts} onSignedIn={signedIn} />
      </>
    );
  }
  return (
    <AppShell header={{ height: 76 }} navbar={{ width: 220, breakpoint: 'sm' }} padding="md">
      <AppShell.Header>
        <Group justify="space-between" px="md" h="100%">
          <Text fw={700} size="lg" component="p">
            {texts.appName}
          </Text>
          <Group align="flex-end">
            {languagePicker}
            <Text size="sm">{`${texts.signedInAs} ${session.client.name} (${session.client.role})`}</Text>
            <Button variant="outline" onClick={() => void signOut()}>
              {texts.signOut}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label={texts.mainNavigation}>
        {PAGES.map((name) => (
          <NavLink
            key={name}
            href={`#${name}`}
            label={texts[NAV_LABELS[name]]}
            active={page === name}
            aria-current={page === name ? 'page' : undefined}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        {page === 'monitor' && <Monitor texts={texts} />}
        {page === 'deliveries' && <Deliveries texts={texts} />}
        {page === 'jobs' && <Jobs texts={texts} />}
        {page === 'exports' && <Exports texts={texts} session={session} />}
        {page === 'audit' && <Audit texts={texts} />}
        {page === 'integrations' && <Integrations texts={texts} selfId={session.client.id} />}
      </AppShell.Main>
    </AppShell>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={contrast}>
      <App />
    </MantineProvider>
  </StrictMode>,
);
