"""Nothing here on purpose: the Django admin serves platform operators on the public site only, and
join links and sign-in links live in each organisation's schema. Admins manage join links at
/manage/join-links/ on their organisation's site; sign-in links are never shown to anyone."""
