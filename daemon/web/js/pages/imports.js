// imports.js - /imports (technicians): a CSV file of collèges, tablets or
// people, first previewed (what would be created, updated or left as it
// is, and every bad line with its number), then written on "Importer".
// The server imports all the rows or none.

import * as api from '../api.js';
import { route } from '../app.js';
import { actionForm, field, figure, FormError, h, heading, notice, table } from '../dom.js';
import { count } from '../fmt.js';

const KINDS = {
	schools: {
		label: 'Collèges',
		path: '/api/v1/schools/import',
		columns: 'UAI (obligatoire), Nom Établissement (obligatoire), Adresse, Commune, Secteur, Élèves équipés, Enseignants équipés',
	},
	devices: {
		label: 'Tablettes',
		path: '/api/v1/devices/import',
		columns: 'N° de série (obligatoire), Modèle, UAI du collège (obligatoire), N° d’inventaire',
	},
	people: {
		label: 'Personnes (élèves et enseignants)',
		path: '/api/v1/people/import',
		columns: 'Identifiant ou INE (obligatoire), Statut : élève ou enseignant (obligatoire), Nom (obligatoire), Prénom, Classe, UAI (obligatoire), Accord parents (date), Date de sortie',
	},
};

function columnsHint(kind) {
	return `Séparateur virgule ou point-virgule, encodage UTF-8, une ligne d’en-tête. Colonnes : ${KINDS[kind].columns}.`;
}

const MAX_BYTES = 8 * 1024 * 1024;

// The report's counts, whichever names the server gives them.
function counts(rep) {
	return {
		create: rep.would_create ?? rep.added ?? 0,
		update: rep.would_update ?? rep.updated ?? 0,
		unchanged: rep.unchanged,
		rows: rep.rows ?? 0,
		bad: rep.bad_rows ?? (rep.errors || []).length,
	};
}

// The server's messages about a line, in French; one it does not know is
// shown as it came.
const MESSAGES = [
	[/^bad UAI '(.*)': the check letter of (\d+) is (\w), not (\w)$/, (m) => `UAI « ${m[1]} » incorrect : la lettre de contrôle de ${m[2]} est ${m[3]}, pas ${m[4]}.`],
	[/^bad UAI '(.*)': 7 digits and a check letter expected/, (m) => `UAI « ${m[1]} » incorrect : 7 chiffres et une lettre de contrôle attendus (par exemple 0131266F).`],
	[/^bad serial '(.*)': 4 to (\d+) letters and digits$/, (m) => `Numéro de série « ${m[1]} » incorrect : de 4 à ${m[2]} lettres et chiffres.`],
	[/^serial (\S+) is already on line (\d+)$/, (m) => `Le numéro de série ${m[1]} figure déjà ligne ${m[2]}.`],
	[/^unknown collège (\S+)/, (m) => `Collège ${m[1]} inconnu (importez d’abord les collèges).`],
	[/^serial (\S+) is at collège (\S+), not (\S+)/, (m) => `La tablette ${m[1]} est au collège ${m[2]}, pas ${m[3]} : changez-la de collège d’abord.`],
	[/^model and asset tag: at most (\d+) bytes/, (m) => `Modèle et numéro d’inventaire : ${m[1]} octets au plus chacun, sur une ligne.`],
	[/^bad id '(.*)': 1 to (\d+) of/, (m) => `Identifiant « ${m[1]} » incorrect : de 1 à ${m[2]} lettres, chiffres ou . _ @ -.`],
	[/^bad kind '(.*)': pupil or teacher/, (m) => `Statut « ${m[1]} » incorrect : élève ou enseignant.`],
	[/^name \(1 to (\d+) bytes\) and class \(at most (\d+)\) expected$/, (m) => `Nom (de 1 à ${m[1]} octets) et classe (${m[2]} au plus) attendus.`],
	[/^bad agreement '(.*)': a date/, (m) => `Accord « ${m[1]} » incorrect : une date JJ/MM/AAAA ou AAAA-MM-JJ, oui ou non.`],
	[/^bad leaving date '(.*)': a date/, (m) => `Date de sortie « ${m[1]} » incorrecte : une date JJ/MM/AAAA ou AAAA-MM-JJ.`],
	[/^bad equipment target '(.*)' \/ '(.*)': a whole number/, (m) => `Objectif d’équipement « ${m[1] || m[2]} » incorrect : un nombre entier de tablettes.`],
	[/^collège (\S+) is outside the scope of account (\S+)$/, (m) => `Le collège ${m[1]} n’est pas dans les collèges du compte ${m[2]}.`],
	[/^id (\S+) is a person of a collège outside your scope/, (m) => `${m[1]} est une personne d’un autre collège : seul un technicien la change de collège.`],
	[/^id (\S+) is already on line (\d+)$/, (m) => `L’identifiant ${m[1]} figure déjà ligne ${m[2]}.`],
	[/^(\S+) has a tablet on loan at another collège/, (m) => `${m[1]} a une tablette en prêt dans un autre collège : elle doit être rendue avant le changement de collège.`],
	[/^UAI (\S+) is already on line (\d+)$/, (m) => `L’UAI ${m[1]} figure déjà ligne ${m[2]}.`],
	[/^name must be 1 to (\d+) bytes/, (m) => `Le nom doit compter de 1 à ${m[1]} octets.`],
	[/^the header has no column '(.*)' \(accepted names: (.*)\)$/, (m) => `L’en-tête n’a pas de colonne « ${m[1]} » (noms acceptés : ${m[2]}).`],
	[/^the header has no column '(.*)'$/, (m) => `L’en-tête n’a pas de colonne « ${m[1]} ».`],
	[/^the file is not UTF-8/, () => 'Le fichier n’est pas en UTF-8 (Windows-1252 ?) : dans le tableur, enregistrez-le au format « CSV UTF-8 ».'],
	[/^the file is UTF-16/, () => 'Le fichier est en UTF-16 : enregistrez-le au format « CSV UTF-8 ».'],
	[/^the file is empty/, () => 'Le fichier est vide : une ligne d’en-tête est attendue.'],
	[/^(\d+) fields, but the header names (\d+)$/, (m) => `${m[1]} champs, alors que l’en-tête en nomme ${m[2]}.`],
];

export function lineMessage(text) {
	for (const [re, fr] of MESSAGES) {
		const m = re.exec(text || '');
		if (m) return fr(m);
	}
	return text;
}

function badLines(rep) {
	const errors = rep.errors || [];
	const c = counts(rep);
	return [
		table({
			caption: `Lignes refusées (${count(c.bad)})`,
			columns: [
				{ label: 'Ligne', value: (e) => String(e.line), class: 'nombre' },
				{ label: 'Problème', value: (e) => lineMessage(e.message) },
			],
			rows: errors,
			empty: 'Aucune ligne refusée.',
		}),
		c.bad > errors.length
			? notice('info', `Seules les ${count(errors.length)} premières lignes refusées sont listées, sur ${count(c.bad)}.`)
			: null,
	];
}

// The file's columns no field takes: said, never dropped in silence.
function ignoredColumns(rep) {
	const cols = rep.ignored_columns || [];
	if (!cols.length) return null;
	return notice('info', `Colonnes ignorées (aucun champ ne leur correspond) : ${cols.map((c) => `« ${c} »`).join(', ')}.`);
}

function figures(c, preview) {
	return h('div', { class: 'chiffres' },
		figure(count(c.rows), 'lignes lues'),
		figure(count(c.create), preview ? 'seraient créées' : 'créées', 'ok'),
		figure(count(c.update), preview ? 'seraient mises à jour' : 'mises à jour'),
		c.unchanged !== undefined ? figure(count(c.unchanged), 'inchangées') : null,
		figure(count(c.bad), 'lignes refusées', c.bad ? 'erreur' : null));
}

// The file's text; refuses what is not UTF-8 text (U+FFFD appears when
// File.text() meets bytes that are not UTF-8: a spreadsheet's "CSV" in
// Windows-1252).
async function readFile(file) {
	if (!file) throw new FormError('Choisissez un fichier CSV.');
	if (file.size > MAX_BYTES) throw new FormError('Le fichier dépasse 8 Mo : découpez-le en plusieurs fichiers.');
	const text = await file.text();
	if (text.includes('\uFFFD')) {
		throw new FormError('Le fichier n’est pas en UTF-8. Dans le tableur, enregistrez-le au format « CSV UTF-8 », puis recommencez.');
	}
	return text;
}

route('/imports', {
	title: 'Imports',
	may: 'admin',
	nav: 'Imports',
	async render(main) {
		const result = h('section', { 'aria-labelledby': 'apercu-titre', class: 'resultat-import', hidden: true });
		let pending = null; // { kind, text, name }: the previewed file, what "Importer" writes

		async function write(reason) {
			const { kind, text, name } = pending;
			let rep;
			try {
				rep = await api.postText(KINDS[kind].path, text, 'text/csv; charset=utf-8', { reason });
			} catch (e) {
				if (e.status === 422 && e.body) {
					return h('div', {}, notice('erreur', 'Rien n’a été importé : des lignes sont refusées.'), badLines(e.body));
				}
				throw e;
			}
			pending = null;
			const c = counts(rep);
			return h('div', {},
				notice('ok', `Import de « ${name} » terminé : ${count(c.create)} créées, ${count(c.update)} mises à jour.`),
				figures(c, false));
		}

		function showPreview(rep, kind, name) {
			const c = counts(rep);
			const parts = [
				h('h2', { id: 'apercu-titre', tabindex: '-1' }, `Aperçu : ${KINDS[kind].label.toLowerCase()}, fichier « ${name} »`),
				notice('info', 'Rien n’est encore enregistré.'),
				figures(c, true),
				ignoredColumns(rep),
				badLines(rep),
			];
			if (c.bad) {
				parts.push(notice('erreur', 'Corrigez les lignes refusées, puis prévisualisez le fichier à nouveau : l’import enregistre toutes les lignes ou aucune.'));
			} else if (c.rows === 0) {
				parts.push(notice('erreur', 'Le fichier ne contient aucune ligne à importer.'));
			} else {
				parts.push(actionForm({
					label: 'Confirmer l’import',
					fields: [field({ label: 'Motif (facultatif, gardé dans le journal)', name: 'reason' })],
					submit: 'Importer',
					async action(v, form) {
						if (!pending) throw new FormError('Prévisualisez d’abord un fichier.');
						const done = await write(v.reason);
						if (!pending) form.querySelector('button[type=submit]').remove();
						return done;
					},
				}));
			}
			result.replaceChildren(...parts.flat().filter(Boolean));
			result.hidden = false;
			result.querySelector('h2').focus();
		}

		const choose = actionForm({
			label: 'Choisir le fichier à importer',
			fields: [
				field({
					label: 'Que contient le fichier ?', name: 'kind', type: 'select', required: true,
					options: Object.entries(KINDS).map(([k, v]) => [k, v.label]),
				}),
				field({
					label: 'Fichier CSV', name: 'file', type: 'file', required: true,
					hint: columnsHint('schools'),
				}),
			],
			submit: 'Prévisualiser',
			async action(v) {
				pending = null;
				result.hidden = true;
				const text = await readFile(v.file);
				let rep;
				try {
					rep = await api.postText(KINDS[v.kind].path, text, 'text/csv; charset=utf-8', { dry_run: 1 });
				} catch (e) {
					if (e.status === 422 && e.body) rep = e.body; // a server that answers a preview's bad lines so
					else throw e;
				}
				if (!rep.errors || !rep.errors.length) pending = { kind: v.kind, text, name: v.file.name };
				showPreview(rep, v.kind, v.file.name);
				return null;
			},
		});
		const file = choose.querySelector('input[type=file]');
		file.setAttribute('accept', '.csv,text/csv');
		choose.addEventListener('change', (ev) => {
			pending = null;
			result.hidden = true;
			if (ev.target.name === 'kind') document.getElementById(file.getAttribute('aria-describedby')).textContent = columnsHint(ev.target.value);
		});

		main.append(...heading('Imports',
			'Ajoutez ou mettez à jour les collèges, les tablettes ou les personnes à partir d’un fichier CSV. Un aperçu montre ce qui changerait avant tout enregistrement.'),
		choose, result);
	},
});
