/**
 * Versioned schema migrations. Append only: a migration that has shipped is never edited,
 * because installations have already applied it. Each runs in its own transaction.
 */
export interface Migration {
  version: number
  name: string
  sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, teams, spaces, apps, releases, formation',
    sql: `
      CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT,
        password_hash TEXT,
        is_admin INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE authorizations (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        token_hash TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        expires_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE teams (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE team_members (
        team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (team_id, account_id)
      );
      CREATE TABLE spaces (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        team_id TEXT NOT NULL REFERENCES teams(id),
        region TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('allocating', 'allocated', 'deleting')),
        shield INTEGER NOT NULL DEFAULT 0,
        cidr TEXT NOT NULL UNIQUE,
        data_cidr TEXT NOT NULL UNIQUE,
        generation TEXT NOT NULL DEFAULT 'cedar',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE inbound_rulesets (
        id TEXT PRIMARY KEY,
        space_id TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        rules TEXT NOT NULL,
        created_by TEXT NOT NULL,
        applied INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        UNIQUE (space_id, version)
      );
      CREATE TABLE space_log_drains (
        space_id TEXT PRIMARY KEY REFERENCES spaces(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        url TEXT NOT NULL,
        token TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE apps (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        owner_id TEXT NOT NULL REFERENCES accounts(id),
        team_id TEXT REFERENCES teams(id),
        space_id TEXT REFERENCES spaces(id),
        region TEXT NOT NULL,
        internal_routing INTEGER NOT NULL DEFAULT 0,
        maintenance INTEGER NOT NULL DEFAULT 0,
        stack TEXT NOT NULL,
        build_stack TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        released_at TEXT
      );
      CREATE INDEX apps_space ON apps(space_id);
      CREATE INDEX apps_team ON apps(team_id);
      CREATE TABLE app_features (
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (app_id, name)
      );
      CREATE TABLE releases (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        description TEXT NOT NULL,
        config TEXT NOT NULL,
        slug_id TEXT,
        user_id TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (app_id, version)
      );
      CREATE TABLE formations (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        type TEXT NOT NULL,
        command TEXT NOT NULL DEFAULT '',
        quantity INTEGER NOT NULL,
        size TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (app_id, type)
      );
    `,
  },
  {
    version: 2,
    name: 'space networks: outbound addresses and attachments',
    sql: `
      CREATE TABLE space_egress (
        address TEXT PRIMARY KEY,
        space_id TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL
      );
      CREATE INDEX space_egress_space ON space_egress(space_id);
      CREATE TABLE network_attachments (
        id TEXT PRIMARY KEY,
        space_id TEXT NOT NULL REFERENCES spaces(id),
        kind TEXT NOT NULL CHECK (kind IN ('dyno', 'data')),
        address TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'ready', 'detaching')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX network_attachments_space ON network_attachments(space_id);
    `,
  },
  {
    version: 3,
    name: 'builds and slugs',
    sql: `
      CREATE TABLE slugs (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        process_types TEXT NOT NULL,
        size INTEGER,
        checksum TEXT,
        commit_sha TEXT,
        commit_description TEXT,
        buildpack_provided_description TEXT,
        stack TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX slugs_app ON slugs(app_id);
      CREATE TABLE builds (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
        source_url TEXT NOT NULL,
        source_version TEXT,
        source_checksum TEXT,
        source_version_description TEXT,
        user_id TEXT NOT NULL,
        output_token TEXT NOT NULL UNIQUE,
        slug_id TEXT,
        release_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX builds_app ON builds(app_id);
      CREATE INDEX builds_status ON builds(status);
    `,
  },
  {
    version: 4,
    name: 'a uid per app for its dynos',
    sql: `
      -- Dynos of an app run as its own unprivileged uid (docs/design.md §5). Kept after the app is
      -- deleted would only leak numbers, so the row goes with it.
      CREATE TABLE app_uids (
        app_id TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
        uid INTEGER NOT NULL UNIQUE
      );
    `,
  },
  {
    version: 5,
    name: 'app log drains',
    sql: `
      -- heroku drains:add (schema log-drain). A URL once per app; the drains go with the app.
      CREATE TABLE app_log_drains (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        url TEXT NOT NULL,
        token TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (app_id, url)
      );
    `,
  },
  {
    version: 6,
    name: 'custom domains and SNI endpoints',
    sql: `
      -- heroku certs:add (schema sni-endpoint): a certificate chain and its private key. The key
      -- stays in the store (the database file is 0600) and is never sent back by the API.
      CREATE TABLE sni_endpoints (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        name TEXT NOT NULL UNIQUE,
        certificate_chain TEXT NOT NULL,
        private_key TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX sni_endpoints_app ON sni_endpoints(app_id);
      -- heroku domains:add (schema domain). A hostname belongs to one app in the installation;
      -- removing a certificate leaves its domains without one.
      CREATE TABLE app_domains (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        hostname TEXT NOT NULL UNIQUE,
        sni_endpoint_id TEXT REFERENCES sni_endpoints(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX app_domains_app ON app_domains(app_id);
      CREATE INDEX app_domains_sni_endpoint ON app_domains(sni_endpoint_id);
    `,
  },
  {
    version: 7,
    name: 'collaborators, buildpacks and app transfers',
    sql: `
      -- heroku access:add on a personal app (schema collaborator): accounts the owner lets use
      -- the app. Team apps are reached by team role only, so they have no rows here.
      CREATE TABLE app_collaborators (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (app_id, account_id)
      );
      CREATE INDEX app_collaborators_account ON app_collaborators(account_id);
      -- heroku buildpacks:set (schema buildpack-installation): the app's buildpacks in order, as
      -- given; they choose detection (core/buildpacks.ts). None: detect as usual.
      CREATE TABLE app_buildpacks (
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        url TEXT NOT NULL,
        PRIMARY KEY (app_id, ordinal)
      );
      -- heroku apps:transfer EMAIL of a personal app (schema app-transfer): pending until the
      -- recipient accepts or declines it.
      CREATE TABLE app_transfers (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL UNIQUE REFERENCES apps(id) ON DELETE CASCADE,
        owner_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        recipient_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 8,
    name: 'custom domains are verified by a TXT record',
    sql: `
      -- Ownership of a custom domain is proved before the router serves it: a TXT record at
      -- _localspace-challenge.<hostname> holding the domain's token (src/daemon/domain-verifier.ts).
      -- Several apps may claim a hostname while unverified; the first to verify holds it, which
      -- the partial unique index enforces. SQLite cannot drop the old UNIQUE (hostname), so the
      -- table is rebuilt.
      CREATE TABLE app_domains_verified (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        hostname TEXT NOT NULL,
        sni_endpoint_id TEXT REFERENCES sni_endpoints(id) ON DELETE SET NULL,
        verification_token TEXT NOT NULL,
        verified_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (app_id, hostname)
      );
      -- Domains added before verification existed stay served: the operator accepted them, and
      -- taking them off the router on upgrade would be an outage. They count as verified.
      INSERT INTO app_domains_verified
        (id, app_id, hostname, sni_endpoint_id, verification_token, verified_at, created_at, updated_at)
        SELECT id, app_id, hostname, sni_endpoint_id, lower(hex(randomblob(16))), created_at,
               created_at, updated_at
        FROM app_domains;
      DROP TABLE app_domains;
      ALTER TABLE app_domains_verified RENAME TO app_domains;
      CREATE INDEX app_domains_app ON app_domains(app_id);
      CREATE INDEX app_domains_sni_endpoint ON app_domains(sni_endpoint_id);
      CREATE INDEX app_domains_hostname ON app_domains(hostname);
      CREATE UNIQUE INDEX app_domains_verified_hostname ON app_domains(hostname)
        WHERE verified_at IS NOT NULL;
      CREATE INDEX app_domains_pending ON app_domains(verified_at) WHERE verified_at IS NULL;
    `,
  },
  {
    version: 9,
    name: 'site-to-site VPN connections, peer networks and peerings',
    sql: `
      -- Facts about the installation itself. 'id': twelve digits, made once, what
      -- peering-info shows as aws_account_id (a peer names the installation by it).
      CREATE TABLE installation (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
      INSERT INTO installation (key, value)
        VALUES ('id', printf('%012d', abs(random() % 1000000000000)));
      -- heroku spaces:vpn:connect (schema vpn-connection). routable_cidrs is a JSON array.
      CREATE TABLE vpn_connections (
        id TEXT PRIMARY KEY,
        space_id TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        public_ip TEXT NOT NULL,
        routable_cidrs TEXT NOT NULL,
        ike_version INTEGER NOT NULL,
        status TEXT NOT NULL,
        status_message TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (space_id, name)
      );
      -- Its two tunnels; ip is ours, from the region's --vpn-pool: held while the row exists.
      CREATE TABLE vpn_tunnels (
        connection_id TEXT NOT NULL REFERENCES vpn_connections(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL CHECK (idx IN (0, 1)),
        ip TEXT NOT NULL UNIQUE,
        pre_shared_key TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'DOWN',
        status_message TEXT NOT NULL DEFAULT '',
        last_status_change TEXT NOT NULL,
        PRIMARY KEY (connection_id, idx)
      );
      -- localspace peer-networks:add: networks the operator attached to the host.
      CREATE TABLE peer_networks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        interface TEXT NOT NULL,
        cidrs TEXT NOT NULL,
        gateway TEXT,
        created_at TEXT NOT NULL
      );
      -- A peering of accepter_space_id with a peer network or with another space (which asked).
      CREATE TABLE peerings (
        id TEXT PRIMARY KEY,
        accepter_space_id TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
        requester_space_id TEXT REFERENCES spaces(id) ON DELETE CASCADE,
        peer_network_id TEXT REFERENCES peer_networks(id) ON DELETE CASCADE,
        status TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        CHECK ((requester_space_id IS NULL) <> (peer_network_id IS NULL))
      );
      CREATE INDEX peerings_accepter ON peerings(accepter_space_id);
      CREATE INDEX peerings_requester ON peerings(requester_space_id);
    `,
  },
  {
    version: 10,
    name: 'add-ons (Postgres, Redis) and their attachments',
    sql: `
      -- An add-on is a data server in its owning app's space (src/platform/addons.ts). Its
      -- address and credentials are decided here at creation; the data agent runs the server.
      -- The row stays while deprovisioning so the address stays taken until the server is gone.
      CREATE TABLE addons (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        space_id TEXT NOT NULL REFERENCES spaces(id),
        service TEXT NOT NULL,
        plan TEXT NOT NULL,
        state TEXT NOT NULL,
        state_message TEXT,
        host TEXT NOT NULL,
        port INTEGER NOT NULL,
        username TEXT NOT NULL,
        password TEXT NOT NULL,
        database TEXT NOT NULL,
        tls INTEGER NOT NULL,
        leader_id TEXT REFERENCES addons(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (space_id, host)
      );
      CREATE INDEX addons_app ON addons(app_id);
      CREATE INDEX addons_leader ON addons(leader_id);
      -- An attachment gives an app the add-on's URL as <name>_URL (one release per change).
      CREATE TABLE addon_attachments (
        id TEXT PRIMARY KEY,
        addon_id TEXT NOT NULL REFERENCES addons(id) ON DELETE CASCADE,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        namespace TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (app_id, name)
      );
      CREATE INDEX addon_attachments_addon ON addon_attachments(addon_id);
    `,
  },
  {
    version: 11,
    name: 'Postgres backups and restores (transfers)',
    sql: `
      -- pg:backups (src/platform/backups.ts): numbered per billing app; the data agent runs them.
      CREATE TABLE pg_transfers (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        num INTEGER NOT NULL,
        kind TEXT NOT NULL,
        addon_id TEXT NOT NULL,
        from_name TEXT NOT NULL,
        to_name TEXT NOT NULL,
        backup_id TEXT,
        processed_bytes INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        succeeded INTEGER NOT NULL DEFAULT 0,
        canceled_at TEXT,
        deleted_at TEXT,
        logs TEXT NOT NULL DEFAULT '[]',
        UNIQUE (app_id, num)
      );
    `,
  },
  {
    version: 12,
    name: 'Postgres backup schedules; scheduled transfers',
    sql: `
      -- pg:backups:schedule (src/platform/backup-schedules.ts): one daily schedule per database.
      CREATE TABLE pg_backup_schedules (
        id TEXT PRIMARY KEY,
        addon_id TEXT NOT NULL UNIQUE REFERENCES addons(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        hour INTEGER NOT NULL,
        timezone TEXT NOT NULL,
        last_run_on TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      -- A scheduled backup (a001) names its schedule; a manual one (b001) has none.
      ALTER TABLE pg_transfers ADD COLUMN schedule_name TEXT;
    `,
  },
]
