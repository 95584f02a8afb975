// index.js - every page module, imported once so that each registers its
// routes (app.js route()).
import './signin.js';
import './dashboard.js';
import './tablets.js';
import './tablet.js';
import './loans.js';
import './summer.js';
import './people.js';
import './incidents.js';
import './imports.js';
import './accounts.js';
import './catalogue.js';
import './locate.js';
import './audit.js';
import './register.js';
import './documents.js';
