import { AccountsRepo } from './accounts.repo.js'
import { AddonsRepo } from './addons.repo.js'
import { AppAccessRepo } from './app-access.repo.js'
import { AppsRepo } from './apps.repo.js'
import { BuildsRepo } from './builds.repo.js'
import { DomainsRepo } from './domains.repo.js'
import { DrainsRepo } from './drains.repo.js'
import { openDatabase, type Db } from './db.js'
import { NetworkRepo } from './network.repo.js'
import { PeeringsRepo } from './peerings.repo.js'
import { ReleasesRepo } from './releases.repo.js'
import { SpacesRepo } from './spaces.repo.js'
import { TeamsRepo } from './teams.repo.js'
import { VpnRepo } from './vpn.repo.js'
import { TransfersRepo } from './transfers.repo.js'
import { BackupSchedulesRepo } from './backup-schedules.repo.js'

/** The desired state of the installation, one SQLite file. */
export class Store {
  readonly accounts: AccountsRepo
  readonly teams: TeamsRepo
  readonly spaces: SpacesRepo
  readonly apps: AppsRepo
  readonly releases: ReleasesRepo
  readonly network: NetworkRepo
  readonly builds: BuildsRepo
  readonly drains: DrainsRepo
  readonly domains: DomainsRepo
  readonly appAccess: AppAccessRepo
  readonly vpn: VpnRepo
  readonly peerings: PeeringsRepo
  readonly addons: AddonsRepo
  readonly transfers: TransfersRepo
  readonly backupSchedules: BackupSchedulesRepo

  constructor(readonly db: Db) {
    this.accounts = new AccountsRepo(db)
    this.teams = new TeamsRepo(db)
    this.spaces = new SpacesRepo(db)
    this.apps = new AppsRepo(db)
    this.releases = new ReleasesRepo(db)
    this.network = new NetworkRepo(db)
    this.builds = new BuildsRepo(db)
    this.drains = new DrainsRepo(db)
    this.domains = new DomainsRepo(db)
    this.appAccess = new AppAccessRepo(db)
    this.vpn = new VpnRepo(db)
    this.peerings = new PeeringsRepo(db)
    this.addons = new AddonsRepo(db)
    this.transfers = new TransfersRepo(db)
    this.backupSchedules = new BackupSchedulesRepo(db)
  }

  static open(file: string): Store {
    return new Store(openDatabase(file))
  }

  /** Runs `fn` in one transaction: all of its writes land, or none do. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)()
  }

  close(): void {
    this.db.close()
  }
}
