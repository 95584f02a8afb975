// signin.js - the two pages shown without a session: signing in, and the
// one-time link (invitation or reset) where a person sets their password.

import * as api from '../api.js';
import { go, route, setSession } from '../app.js';
import { actionForm, field, FormError, h, heading, notice } from '../dom.js';
import { dateTime, errorText } from '../fmt.js';

const MIN_PASSWORD = 12;

// Where to go after signing in: a path of this site only.
function next(query) {
	// compare origins, not prefixes: a URL parser reads '/\\host' as '//host'
	const u = new URL(query.get('suite') || '/', location.origin);
	return u.origin === location.origin && !u.pathname.startsWith('/connexion')
		? u.pathname + u.search + u.hash : '/';
}

route('/connexion', {
	title: 'Connexion',
	public: true,
	async render(main, params, ctx) {
		main.append(...heading('Connexion', 'Connectez-vous avec le nom de compte et le mot de passe que vous avez choisis.'),
			actionForm({
				label: 'Connexion',
				className: 'formulaire etroit',
				fields: [
					field({ label: 'Nom du compte', name: 'name', required: true, autocomplete: 'username' }),
					field({ label: 'Mot de passe', name: 'password', type: 'password', required: true, autocomplete: 'current-password' }),
				],
				submit: 'Se connecter',
				async action(v) {
					if (!v.name || !v.password) throw new FormError('Saisissez votre nom de compte et votre mot de passe.');
					let s;
					try {
						s = await api.post('/api/v1/session', { name: v.name, password: v.password }, { quiet401: true });
					} catch (e) {
						if (e.status === 401) throw new FormError('Nom de compte ou mot de passe incorrect.');
						throw e;
					}
					setSession(s);
					go(next(ctx.query), true);
					return null;
				},
			}),
			h('p', { class: 'aide' }, 'Mot de passe oublié ? Demandez un nouveau lien à un technicien du département.'));
	},
});

route('/lien/:token', {
	title: 'Choisir votre mot de passe',
	public: true,
	async render(main, { token }) {
		main.append(...heading('Choisir votre mot de passe'));
		let link;
		try {
			link = await api.get(`/api/v1/links/${encodeURIComponent(token)}`, null, { quiet401: true });
		} catch (e) {
			main.append(notice('erreur', e.status === 404
				? 'Ce lien est inconnu, a déjà servi ou a expiré (il vaut 72 heures). Demandez-en un nouveau à un technicien du département.'
				: errorText(e)));
			return;
		}
		main.append(
			h('p', {}, `Compte « ${link.name} »${link.display_name ? ` (${link.display_name})` : ''}. `,
				`Ce lien est valable jusqu’au ${dateTime(link.expires_at)} et ne sert qu’une fois.`),
			actionForm({
				label: 'Nouveau mot de passe',
				className: 'formulaire etroit',
				fields: [
					h('input', { type: 'text', name: 'username', value: link.name, autocomplete: 'username', hidden: true, 'aria-hidden': 'true', tabindex: '-1' }),
					field({ label: 'Nouveau mot de passe', name: 'password', type: 'password', required: true, autocomplete: 'new-password', hint: `Au moins ${MIN_PASSWORD} caractères. Une phrase de quelques mots est plus facile à retenir.` }),
					field({ label: 'Confirmer le mot de passe', name: 'confirm', type: 'password', required: true, autocomplete: 'new-password' }),
				],
				submit: 'Enregistrer le mot de passe',
				async action(v, form) {
					if ([...v.password].length < MIN_PASSWORD) throw new FormError(`Le mot de passe doit compter au moins ${MIN_PASSWORD} caractères.`);
					if (v.password !== v.confirm) throw new FormError('Les deux mots de passe ne sont pas identiques.');
					if (v.password === link.name) throw new FormError('Le mot de passe ne peut pas être le nom du compte.');
					await api.post(`/api/v1/links/${encodeURIComponent(token)}`, { password: v.password }, { quiet401: true });
					form.querySelector('button[type=submit]').remove();
					return h('div', {}, notice('ok', 'Votre mot de passe est enregistré.'),
						h('p', {}, h('a', { href: '/connexion' }, 'Se connecter')));
				},
			}));
	},
});
