/**
 * Every text of the console, in one place, per language: a translator adds a language by copying
 * `en` (the type makes sure no text is missing).
 */
const en = {
  appName: 'SP Exchange console',
  language: 'Language',
  signInTitle: 'Sign in',
  signInHelp: 'Use your API key. The console keeps a session for 8 hours; it never stores the key.',
  apiKey: 'API key',
  signIn: 'Sign in',
  signOut: 'Sign out',
  signedInAs: 'Signed in as',
  navIntegrations: 'Integrations',
  integrationsTitle: 'Integrations',
  integrationsHelp: 'The systems and people that call SP Exchange, and what they may do.',
  name: 'Name',
  role: 'Role',
  description: 'Description',
  status: 'Status',
  created: 'Created',
  active: 'active',
  disabled: 'disabled',
  newIntegration: 'Connect a new system',
  create: 'Create',
  created_ok: 'Created',
  noIntegrations: 'No integrations yet.',
  loading: 'Loading…',
  failed: 'The request failed',
  mainNavigation: 'Main navigation',
} as const;

export type Texts = { readonly [K in keyof typeof en]: string };

const fr: Texts = {
  appName: 'Console SP Exchange',
  language: 'Langue',
  signInTitle: 'Connexion',
  signInHelp:
    'Utilisez votre clé d’API. La console garde une session 8 heures ; elle ne stocke jamais la clé.',
  apiKey: 'Clé d’API',
  signIn: 'Se connecter',
  signOut: 'Se déconnecter',
  signedInAs: 'Connecté en tant que',
  navIntegrations: 'Intégrations',
  integrationsTitle: 'Intégrations',
  integrationsHelp: 'Les systèmes et personnes qui appellent SP Exchange, et ce qu’ils peuvent faire.',
  name: 'Nom',
  role: 'Rôle',
  description: 'Description',
  status: 'État',
  created: 'Créé',
  active: 'actif',
  disabled: 'désactivé',
  newIntegration: 'Connecter un nouveau système',
  create: 'Créer',
  created_ok: 'Créé',
  noIntegrations: 'Aucune intégration pour l’instant.',
  loading: 'Chargement…',
  failed: 'La requête a échoué',
  mainNavigation: 'Navigation principale',
};

export const LANGUAGES = { en, fr } as const;
export type Language = keyof typeof LANGUAGES;
