// Demo agent: fails at once, every time (exercises restarts and `dead`).
console.error(`TypeError: Cannot read properties of undefined (reading 'config')
    at loadSettings (file:///opt/agent/src/settings.js:42:17)
    at main (file:///opt/agent/src/index.js:429:5)
    at file:///opt/agent/src/index.js:512:1`);
process.exit(1);
