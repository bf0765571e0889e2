/** Text safe inside HTML/SVG markup and attribute values: the five characters that can break out. */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
