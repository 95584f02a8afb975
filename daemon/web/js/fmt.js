// fmt.js - what a person reads: dates as JJ/MM/AAAA on the server's clock
// (the API writes its times with the offset of its zone, [server] timezone,
// Europe/Paris by default; a time in UTC is shown in Europe/Paris), the
// French words for the API's states, and a French sentence for an error.

const TZ = 'Europe/Paris';
const dayFmt = new Intl.DateTimeFormat('fr-FR', {
	timeZone: TZ, day: '2-digit', month: '2-digit', year: 'numeric',
});
const timeFmt = new Intl.DateTimeFormat('fr-FR', {
	timeZone: TZ, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit',
});
const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
// An API time with its offset, '2026-12-02T15:05:00+01:00': the server's
// wall clock, read as written.
const ZONED_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?[+-]\d{2}:?\d{2}$/;

function toDate(v) {
	return typeof v === 'number' ? new Date(v * 1000) : new Date(v);
}

// A day ('2026-12-02', kept as is: a day has no zone) or an instant (ISO
// 8601 with an offset: its day there; with Z or epoch seconds: on Paris's
// calendar) as JJ/MM/AAAA; '—' for none.
export function date(v) {
	if (v === null || v === undefined || v === '') return '—';
	const m = typeof v === 'string' ? DAY_RE.exec(v) || ZONED_RE.exec(v) : null;
	if (m) return `${m[3]}/${m[2]}/${m[1]}`;
	const d = toDate(v);
	return Number.isNaN(d.getTime()) ? String(v) : dayFmt.format(d);
}

// An instant as 'JJ/MM/AAAA HH:MM': with an offset, the time written there
// (the server's clock); with Z or epoch seconds, Paris time.
export function dateTime(v) {
	if (v === null || v === undefined || v === '') return '—';
	const m = typeof v === 'string' ? ZONED_RE.exec(v) : null;
	if (m) return `${m[3]}/${m[2]}/${m[1]} ${m[4]}:${m[5]}`;
	const d = toDate(v);
	return Number.isNaN(d.getTime()) ? String(v) : timeFmt.format(d).replace(',', '');
}

function validDay(y, m, d) {
	const t = new Date(Date.UTC(y, m - 1, d));
	return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

// A typed day, 'JJ/MM/AAAA' (or J/M/AAAA) or 'AAAA-MM-JJ', as 'AAAA-MM-JJ';
// null when it is not a real day.
export function parseDay(text) {
	const s = String(text ?? '').trim();
	let y, m, d;
	let r = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(s);
	if (r) {
		[d, m, y] = [Number(r[1]), Number(r[2]), Number(r[3])];
	} else if ((r = DAY_RE.exec(s))) {
		[y, m, d] = [Number(r[1]), Number(r[2]), Number(r[3])];
	} else {
		return null;
	}
	if (!validDay(y, m, d)) return null;
	return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

// Today on Paris's calendar, as 'AAAA-MM-JJ'.
export function today() {
	const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
		timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit',
	}).formatToParts(new Date()).map((x) => [x.type, x.value]));
	return `${p.year}-${p.month}-${p.day}`;
}

function label(table, v) {
	return Object.prototype.hasOwnProperty.call(table, v) ? table[v] : (v ?? '—');
}

export const STATES = {
	stock: 'En stock', loaned: 'Prêtée', returning: 'En retour', repair: 'En réparation',
	lost: 'Perdue', stolen: 'Volée', retired: 'Réformée',
};
export const ENROLLMENTS = {
	none: 'Jamais inscrite', pending: 'Inscription en cours', enrolled: 'Inscrite', unenrolled: 'Désinscrite',
};
export const ROLES = {
	technician: 'Technicien du département', ati: 'ATI', referent: 'Référent du collège', auditor: 'Auditeur',
	monitoring: 'Supervision (métriques)',
};
export const INCIDENT_KINDS = { loss: 'Perte', theft: 'Vol', damage: 'Casse', failure: 'Panne' };
export const PERSON_KINDS = { pupil: 'Élève', teacher: 'Enseignant' };
export const LOAN_STATES = { open: 'En cours', returning: 'Retour en cours', closed: 'Terminé' };
export const COMMAND_STATUSES = {
	queued: 'En attente', sent: 'Envoyée', notnow: 'Reportée par la tablette', acknowledged: 'Exécutée',
	error: 'En erreur', format_error: 'Refusée (format)', expired: 'Expirée', canceled: 'Annulée',
};
export const LOCATE_STATES = {
	pending: 'En attente d’approbation', approved: 'Approuvée', denied: 'Refusée', expired: 'Expirée',
	closed: 'Close',
};

export const stateLabel = (v) => label(STATES, v);
export const enrollmentLabel = (v) => label(ENROLLMENTS, v);
export const roleLabel = (v) => label(ROLES, v);
export const incidentKindLabel = (v) => label(INCIDENT_KINDS, v);
export const personKindLabel = (v) => label(PERSON_KINDS, v);
export const loanStateLabel = (v) => label(LOAN_STATES, v);
export const commandStatusLabel = (v) => label(COMMAND_STATUSES, v);
export const locateStateLabel = (v) => label(LOCATE_STATES, v);

export function yesNo(v) {
	if (v === null || v === undefined) return 'Inconnu';
	return v ? 'Oui' : 'Non';
}

// A whole number the French way (1 234).
export function count(n) {
	return new Intl.NumberFormat('fr-FR').format(n ?? 0);
}

function wait(seconds) {
	if (!seconds) return 'dans quelques instants';
	if (seconds < 120) return `dans ${seconds} secondes`;
	return `dans ${Math.ceil(seconds / 60)} minutes`;
}

// A French sentence for an ApiError (api.js).  The server's own words are
// English today: pages map the refusals they expect to French (explain()),
// and errorNotice() (dom.js) keeps the server's words folded away for
// support.
export function errorText(err) {
	switch (err ? err.status : -1) {
	case 0: return 'Le serveur Ardoise ne répond pas. Vérifiez la connexion et réessayez.';
	case 400: return 'La saisie a été refusée : vérifiez les champs et réessayez.';
	case 401: return 'Votre session a expiré : reconnectez-vous.';
	case 403: return 'Votre compte ne permet pas cette action.';
	case 404: return 'Introuvable dans vos collèges.';
	case 409: return 'Impossible dans l’état actuel de la tablette ou du dossier.';
	case 413: return 'Le fichier ou le texte envoyé est trop volumineux.';
	case 415: return 'Ce type de fichier n’est pas accepté.';
	case 429: return `Trop de tentatives. Réessayez ${wait(err.retryAfter)}.`;
	case 503: return 'Le serveur est occupé. Réessayez dans un instant.';
	default: return 'Une erreur est survenue du côté du serveur.';
	}
}

// The offset of Paris from UTC at instant ms, in ms (+1 h or +2 h).
function parisOffset(ms) {
	const p = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
		timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
		hour: '2-digit', minute: '2-digit', second: '2-digit',
	}).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
	return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - ms;
}

// The instant (ms) at which Paris's clocks show local (a wall-clock time
// written as if it were UTC, in ms): the offset taken is that of the
// instant itself, so a time on the night of a change of hour is right.
function parisUtc(local) {
	return local - parisOffset(local - parisOffset(local));
}

// 00:00 of a day ('AAAA-MM-JJ') on Paris's calendar as an instant in UTC
// ('AAAA-MM-JJTHH:MM:SSZ'); end: the last second of that day instead.
export function parisDayBound(day, end = false) {
	const m = DAY_RE.exec(day || '');
	if (!m) return null;
	const t = parisUtc(Date.UTC(+m[1], +m[2] - 1, +m[3] + (end ? 1 : 0)));
	return new Date(t - (end ? 1000 : 0)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// What the audit log's actions mean, in French (the code stays shown).
export const AUDIT_ACTIONS = {
	'account.create': 'Création d’un compte', 'account.disable': 'Désactivation d’un compte',
	'account.update': 'Modification d’un compte', 'account.invite': 'Invitation (lien envoyé)',
	'account.password_reset': 'Nouveau lien de mot de passe', 'account.password_set': 'Mot de passe choisi',
	'token.rotate': 'Nouveau jeton d’accès', 'session.signin': 'Connexion', 'session.signout': 'Déconnexion',
	'session.refused': 'Connexion refusée',
	'school.add': 'Ajout d’un collège', 'school.import': 'Import des collèges',
	'device.import': 'Import des tablettes', 'device.move': 'Tablette changée de collège',
	'device.retire': 'Tablette réformée', 'device.erase': 'Effacement d’une tablette',
	'device.release': 'Tablette libérée', 'device.enrolled': 'Tablette inscrite',
	'device.clear_passcode': 'Code de verrouillage effacé', 'device.lock': 'Tablette verrouillée',
	'device.activation_lock_code_read': 'Code de contournement du verrouillage d’activation lu',
	'device.checkout': 'Tablette sortie de la gestion', 'device.identity_issued': 'Identité de tablette délivrée',
	'device.rebind': 'Identité de tablette rattachée', 'device.push': 'Réveil d’une tablette',
	'device.configured': 'Tablette configurée (inscription ADE)',
	'device.configure_released': 'Tablette libérée de l’assistant sans configuration complète',
	'push.school': 'Réveil des tablettes d’un collège', 'push.fleet': 'Réveil de toutes les tablettes',
	'enroll.profile': 'Profil d’inscription téléchargé', 'job.run': 'Tâche lancée à la main',
	'backup.take': 'Sauvegarde de la base téléchargée',
	'person.import': 'Import des personnes', 'person.leave': 'Départ du collège',
	'person.agreement': 'Accord des responsables légaux',
	'loan.create': 'Prêt', 'loan.return': 'Retour d’une tablette',
	'loan.deposit': 'Dépôt d’été (prêt suspendu)', 'loan.resume': 'Reprise d’un prêt après le dépôt',
	'loan.update': 'Prêt modifié', 'loan.overdue': 'Prêt en retard', 'loan.erased': 'Tablette effacée, prêt terminé',
	'device.mark_erased': 'Retour clos à la main (effacement constaté)',
	'incident.declare': 'Déclaration d’incident', 'incident.close': 'Clôture d’incident',
	'incident.update': 'Incident complété ou corrigé',
	'command.send': 'Commande envoyée', 'command.cancel': 'Commande annulée', 'command.bulk': 'Commande groupée',
	'locate.request': 'Demande de géolocalisation', 'locate.approve': 'Géolocalisation approuvée',
	'locate.deny': 'Géolocalisation refusée', 'locate.refresh': 'Nouvelle position demandée',
	'locate.close': 'Géolocalisation close', 'locate.read': 'Positions consultées',
	'locate.register_read': 'Registre consulté', 'locate.expire': 'Géolocalisations expirées',
	'locate.purge': 'Positions effacées (durée de conservation passée)',
	'policy.assign': 'Affectation au catalogue', 'policy.unassign': 'Affectation retirée',
	'policy.app.add': 'Application ajoutée au catalogue', 'policy.app.remove': 'Application retirée du catalogue',
	'policy.profile.add': 'Profil ajouté', 'policy.profile.update': 'Profil modifié',
	'policy.profile.remove': 'Profil retiré', 'policy.reconcile': 'Mise en conformité lancée',
	'policy.baseline': 'Socle commun installé', 'enroll_code.create': 'Code d’inscription créé',
	'audit.rekey': 'Journal scellé par clé', init: 'Installation d’Ardoise',
	'ddm.declaration.add': 'Déclaration (gestion déclarative) ajoutée',
	'ddm.declaration.update': 'Déclaration (gestion déclarative) modifiée',
	'ddm.declaration.remove': 'Déclaration (gestion déclarative) retirée',
	'ddm.assign': 'Déclaration affectée', 'ddm.unassign': 'Affectation de déclaration retirée',
	'ade.keypair': 'Clé Apple School Manager (inscription automatisée) demandée',
	'ade.token': 'Jeton serveur Apple School Manager importé',
	'ade.sync': 'Synchronisation Apple School Manager lancée',
	'ade.profile.add': 'Profil d’inscription automatisée ajouté',
	'ade.profile.update': 'Profil d’inscription automatisée modifié',
	'ade.profile.remove': 'Profil d’inscription automatisée supprimé',
	'vpp.token.add': 'Jeton de contenu Apps and Books ajouté',
	'vpp.token.remove': 'Jeton de contenu Apps and Books retiré',
	'vpp.sync': 'Passe des licences Apps and Books lancée',
};
export const auditActionLabel = (v) => label(AUDIT_ACTIONS, v);
export const INCIDENT_OUTCOMES = {
	found: 'Retrouvée', repaired: 'Réparée', written_off: 'Réformée (perte définitive)',
};
export const POLICY_STATES = {
	installed: 'Installé', pending: 'En cours d’installation', missing: 'Manquant', waiting_licence: 'En attente de licences', failed: 'En échec',
};
export const CONDITIONS = { ok: 'Bon état', damaged: 'Abîmée' };
export const COMMAND_TYPES = {
	ClearPasscode: 'Réinitialisation du code', DeviceLock: 'Verrouillage', EraseDevice: 'Effacement',
	DeviceInformation: 'Relevé d’informations', SecurityInfo: 'Relevé de sécurité',
	InstalledApplicationList: 'Liste des applications', ManagedApplicationList: 'Applications gérées',
	ProfileList: 'Liste des profils', InstallProfile: 'Installation d’un profil',
	RemoveProfile: 'Retrait d’un profil', InstallApplication: 'Installation d’une application',
	RemoveApplication: 'Retrait d’une application', RestartDevice: 'Redémarrage',
	ShutDownDevice: 'Extinction', Settings: 'Réglages', DeviceConfigured: 'Fin de configuration',
	EnableLostMode: 'Mode perdu activé', DisableLostMode: 'Mode perdu désactivé',
	DeviceLocation: 'Localisation', PlayLostModeSound: 'Son du mode perdu',
	ActivationLockBypassCode: 'Code de contournement du verrouillage d’activation',
	DeclarativeManagement: 'Activation de la gestion déclarative (DDM)',
};

export const incidentOutcomeLabel = (v) => label(INCIDENT_OUTCOMES, v);
export const policyStateLabel = (v) => label(POLICY_STATES, v);
export const conditionLabel = (v) => label(CONDITIONS, v);
export const commandTypeLabel = (v) => label(COMMAND_TYPES, v);

// A typed time of day 'HH:MM' (or 'HHhMM', 'HH') as 'HH:MM'; null when not
// one.
export function parseHour(text) {
	const r = /^(\d{1,2})(?:[:hH](\d{2})?)?$/.exec(String(text ?? '').trim());
	if (!r || Number(r[1]) > 23 || Number(r[2] ?? 0) > 59) return null;
	return `${r[1].padStart(2, '0')}:${r[2] ?? '00'}`;
}

// A day ('AAAA-MM-JJ') and an hour ('HH:MM') on the collège's clock as the
// API takes it, 'AAAA-MM-JJTHH:MM': a time without a zone is the server's
// local time ([server] timezone), which the server converts itself, changes
// of hour included.
export function parisInstant(day, hour) {
	return `${day}T${hour}`;
}

// Now, for the API: 'AAAA-MM-JJTHH:MMZ' (UTC, said so).
export function nowInstant() {
	return new Date().toISOString().slice(0, 16) + 'Z';
}

// A French sentence for an ApiError whose English message matches one of
// rules, [[status, RegExp, (match) => sentence]] (status null: any), tried
// in order; otherwise `otherwise` when given, else errorText(err).
export function explain(err, rules, otherwise) {
	for (const [status, re, say] of rules) {
		if (status !== null && err.status !== status) continue;
		const m = re.exec(err.english || err.message || '');
		if (m) return say(m);
	}
	return otherwise !== undefined ? otherwise : errorText(err);
}
