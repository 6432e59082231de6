/** What each role may do (SPEC "Operator console"); the page hides the rest, the API refuses it. */
export const can = {
  edit: (role) => role === 'editor' || role === 'admin',
  admin: (role) => role === 'admin',
};
