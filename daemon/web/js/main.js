// main.js - the entry point: registers every page, then starts the router.
import './pages/index.js';
import { start } from './app.js';

start();
