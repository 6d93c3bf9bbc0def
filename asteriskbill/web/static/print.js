// The receipt page's Print button: a script of its own, as the CSP allows no inline one.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
