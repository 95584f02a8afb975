// index.js - every page module, imported once so that each registers its
// routes (app.js route()).
import './signin.js';
import './imports.js';
import './accounts.js';
import './catalogue.js';
