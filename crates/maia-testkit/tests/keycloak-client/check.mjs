// Keycloak's official admin client against maia-testkit's FakeKeycloak. Run by
// crates/maia-testkit/tests/keycloak.rs with KC_URL, KC_REALM, KC_CLIENT_ID and
// KC_CLIENT_SECRET in the environment; exits non-zero on the first unexpected answer.
import assert from "node:assert/strict";
import KcAdminClient from "@keycloak/keycloak-admin-client";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const kc = new KcAdminClient({ baseUrl: env("KC_URL"), realmName: env("KC_REALM") });

// An answer the client rejects: its HTTP status and body.
async function failure(promise) {
  try {
    await promise;
  } catch (e) {
    return { status: e.response?.status, body: e.responseData, message: e.message };
  }
  throw new Error("expected the request to fail");
}

let step = "";
const check = async (name, f) => {
  step = name;
  await f();
  console.log(`ok: ${name}`);
};

try {
  await check("client credentials", async () => {
    const bad = await failure(
      kc.auth({ grantType: "client_credentials", clientId: env("KC_CLIENT_ID"), clientSecret: "wrong" }),
    );
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error, "unauthorized_client");
    await kc.auth({
      grantType: "client_credentials",
      clientId: env("KC_CLIENT_ID"),
      clientSecret: env("KC_CLIENT_SECRET"),
    });
    assert.ok(kc.accessToken);
  });

  let groupId;
  await check("groups: create, find exactly, conflict, update, count", async () => {
    ({ id: groupId } = await kc.groups.create({ name: "MAIA:lab" }));
    assert.match(groupId, /^[0-9a-f-]{36}$/);
    await kc.groups.create({ name: "MAIA:lab-two" });
    const dup = await failure(kc.groups.create({ name: "MAIA:lab" }));
    assert.equal(dup.status, 409);
    assert.equal(dup.message, "Top level group named 'MAIA:lab' already exists.");
    const exact = await kc.groups.find({ search: "MAIA:lab", exact: true });
    assert.deepEqual(exact.map((g) => g.id), [groupId]);
    assert.equal(exact[0].path, "/MAIA:lab");
    const infix = await kc.groups.find({ search: "maia:lab", first: 0, max: 10 });
    assert.deepEqual(infix.map((g) => g.name), ["MAIA:lab", "MAIA:lab-two"]);
    const one = await kc.groups.findOne({ id: groupId });
    assert.equal(one.name, "MAIA:lab");
    assert.deepEqual(one.attributes, {});
    await kc.groups.update({ id: groupId }, { name: "MAIA:lab", attributes: { owner: ["ann"] } });
    assert.deepEqual((await kc.groups.findOne({ id: groupId })).attributes, { owner: ["ann"] });
    assert.deepEqual(await kc.groups.count(), { count: 2 });
    assert.equal(await kc.groups.findOne({ id: "no-such-group" }), null);
  });

  let annId;
  await check("users: create, find by exact e-mail, conflict, update, count", async () => {
    ({ id: annId } = await kc.users.create({
      username: "ann@example.org",
      email: "ann@example.org",
      enabled: true,
      requiredActions: ["VERIFY_EMAIL", "UPDATE_PASSWORD"],
    }));
    await kc.users.create({ username: "joann@example.org", email: "joann@example.org", enabled: true });
    const dup = await failure(kc.users.create({ username: "other", email: "ANN@example.org" }));
    assert.equal(dup.status, 409);
    assert.equal(dup.message, "User exists with same email");
    const found = await kc.users.find({ email: "ann@example.org", exact: true });
    assert.deepEqual(found.map((u) => u.id), [annId]);
    assert.deepEqual(found[0].requiredActions, ["VERIFY_EMAIL", "UPDATE_PASSWORD"]);
    const loose = await kc.users.find({ email: "ann@example.org" });
    assert.equal(loose.length, 2);
    const paged = await kc.users.find({ first: 1, max: 1 });
    assert.deepEqual(paged.map((u) => u.username), ["joann@example.org"]);
    await kc.users.update({ id: annId }, { firstName: "Ann" });
    const ann = await kc.users.findOne({ id: annId });
    assert.equal(ann.firstName, "Ann");
    assert.equal(ann.enabled, true);
    assert.equal(await kc.users.count(), 2);
    assert.equal(await kc.users.findOne({ id: "no-such-user" }), null);
  });

  await check("membership: add, list members and groups, remove", async () => {
    await kc.users.addToGroup({ id: annId, groupId });
    const members = await kc.groups.listMembers({ id: groupId, first: 0, max: 10 });
    assert.deepEqual(members.map((u) => u.id), [annId]);
    const groups = await kc.users.listGroups({ id: annId });
    assert.deepEqual(groups.map((g) => g.name), ["MAIA:lab"]);
    await kc.users.delFromGroup({ id: annId, groupId });
    assert.deepEqual(await kc.groups.listMembers({ id: groupId }), []);
  });

  await check("execute-actions-email", async () => {
    await kc.users.executeActionsEmail({
      id: annId,
      actions: ["VERIFY_EMAIL", "UPDATE_PASSWORD"],
      lifespan: 604800,
      clientId: "account",
    });
    const bad = await failure(kc.users.executeActionsEmail({ id: annId, actions: ["NOPE"] }));
    assert.equal(bad.status, 400);
    assert.equal(bad.message, "Provided invalid required actions");
  });

  let clientId;
  await check("clients: create with a mapper, find by clientId, conflict, update", async () => {
    ({ id: clientId } = await kc.clients.create({
      clientId: "maia-lab-hub",
      publicClient: false,
      redirectUris: ["https://hub.lab.example.org/hub/oauth_callback"],
      attributes: { "post.logout.redirect.uris": "https://hub.lab.example.org/" },
      protocolMappers: [
        {
          name: "groups",
          protocol: "openid-connect",
          protocolMapper: "oidc-group-membership-mapper",
          config: { "claim.name": "groups", "full.path": "false" },
        },
      ],
    }));
    const found = await kc.clients.find({ clientId: "maia-lab-hub" });
    assert.deepEqual(found.map((c) => c.id), [clientId]);
    assert.equal(found[0].protocolMappers[0].protocolMapper, "oidc-group-membership-mapper");
    const dup = await failure(kc.clients.create({ clientId: "maia-lab-hub" }));
    assert.equal(dup.status, 409);
    assert.equal(dup.message, "Client maia-lab-hub already exists");
    await kc.clients.update({ id: clientId }, { redirectUris: ["https://hub.lab.example.org/cb"] });
    const one = await kc.clients.findOne({ id: clientId });
    assert.deepEqual(one.redirectUris, ["https://hub.lab.example.org/cb"]);
    assert.equal(one.attributes["post.logout.redirect.uris"], "https://hub.lab.example.org/");
    const page = await kc.clients.find({ first: 0, max: 3 });
    assert.equal(page.length, 3);
    assert.equal(await kc.clients.findOne({ id: "no-such-client" }), null);
  });

  await check("client secret: read and regenerate", async () => {
    const secret = await kc.clients.getClientSecret({ id: clientId });
    assert.equal(secret.type, "secret");
    assert.equal(secret.value.length, 32);
    const fresh = await kc.clients.generateNewClientSecret({ id: clientId });
    assert.notEqual(fresh.value, secret.value);
    assert.equal((await kc.clients.getClientSecret({ id: clientId })).value, fresh.value);
  });

  await check("protocol mappers: add, list, find, update, delete", async () => {
    await kc.clients.addProtocolMapper(
      { id: clientId },
      {
        name: "audience",
        protocol: "openid-connect",
        protocolMapper: "oidc-audience-mapper",
        config: { "included.client.audience": "maia-lab-hub", "access.token.claim": "true" },
      },
    );
    const mappers = await kc.clients.listProtocolMappers({ id: clientId });
    assert.deepEqual(mappers.map((m) => m.name).sort(), ["audience", "groups"]);
    const audience = await kc.clients.findProtocolMapperByName({ id: clientId, name: "audience" });
    await kc.clients.updateProtocolMapper(
      { id: clientId, mapperId: audience.id },
      { ...audience, config: { ...audience.config, "access.token.claim": "false" } },
    );
    const updated = await kc.clients.findProtocolMapperById({ id: clientId, mapperId: audience.id });
    assert.equal(updated.config["access.token.claim"], "false");
    const dup = await failure(
      kc.clients.addProtocolMapper({ id: clientId }, { name: "audience", protocol: "openid-connect", protocolMapper: "oidc-audience-mapper" }),
    );
    assert.equal(dup.status, 409);
    assert.equal(dup.message, "Protocol mapper exists with same name");
    await kc.clients.delProtocolMapper({ id: clientId, mapperId: audience.id });
    assert.equal(await kc.clients.findProtocolMapperById({ id: clientId, mapperId: audience.id }), null);
  });

  await check("delete: client, groups, user", async () => {
    await kc.clients.del({ id: clientId });
    assert.equal(await kc.clients.findOne({ id: clientId }), null);
    for (const g of await kc.groups.find()) await kc.groups.del({ id: g.id });
    assert.deepEqual(await kc.groups.find(), []);
    const joann = await kc.users.find({ username: "joann@example.org", exact: true });
    await kc.users.del({ id: joann[0].id });
    assert.equal(await kc.users.count(), 1);
  });

  console.log("all checks passed");
} catch (e) {
  console.error(`FAILED at "${step}": ${e.stack ?? e}`);
  if (e.responseData !== undefined) console.error("response:", JSON.stringify(e.responseData));
  process.exit(1);
}
