export async function login() {
  const res = await fetch('/api/users/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'demo@example.org', password: 'demo-password' }) });
  return (await res.json()).token;
}
