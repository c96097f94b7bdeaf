// The page's own "are you sure" step (a modal <dialog>), so a destructive click is never a slip and tests can click through it.
const dialog = document.querySelector('#confirm')

/** Ask; resolves true only if the user pressed the confirming button (Escape or Cancel say no). */
export function ask({ title, text, confirm }) {
  dialog.querySelector('#confirm-title').textContent = title
  dialog.querySelector('#confirm-text').textContent = text
  dialog.querySelector('#confirm-ok').textContent = confirm
  dialog.returnValue = ''
  dialog.showModal()
  // Cancel takes the focus: Enter on an unexpected dialog must not destroy anything.
  dialog.querySelector('#confirm-cancel').focus()
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true })
  })
}

/** Close an open question unanswered (the connection went: its action could not be sent anyway). */
export function dismiss() {
  if (dialog.open) dialog.close('')
}
