// The admin's user management: everyone (inactive too), adding a user, changing roles,
// resetting a password, deactivating and reactivating.
import { useMutation, useQuery } from "@apollo/client";
import { useId, useState, type FormEvent } from "react";
import { describeError } from "../errors";
import { CreateUserDocument, UpdateUserDocument, UsersDocument, type Role, type UserFieldsFragment } from "../generated/graphql";
import { ROLES, ROLE_LABELS } from "../labels";
import { useMe } from "../session";
import { ErrorNotice, Field, FormError, Loading, Notice, Checkboxes, useFormError } from "./common";

const REFRESH = ["Users"];

export function UserAdmin() {
  const id = useId();
  const users = useQuery(UsersDocument, { variables: { includeInactive: true } });
  const [editing, setEditing] = useState<string | null>(null);
  const list = users.data?.users ?? [];
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Users</h2>
      <p>
        <a href="/graphiql">Open the GraphQL playground (GraphiQL)</a>
      </p>
      <CreateUserForm faculty={list.filter((u) => u.roles.includes("FACULTY") && u.active)} />
      {users.error && <ErrorNotice error={users.error} onRetry={() => void users.refetch()} />}
      {users.loading && !users.data && <Loading label="Loading users…" />}
      {list.length > 0 && (
        <div className="table-scroll">
          <table className="cards">
            <caption className="visually-hidden">Users</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Roles</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((u) => (
                <UserRow
                  key={u.id}
                  user={u}
                  editing={editing === u.id}
                  onEdit={(on) => setEditing(on ? u.id : null)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const ROLE_OPTIONS = ROLES.map((role) => ({ id: role, name: ROLE_LABELS[role] }));

function RoleBoxes({ value, onChange, legend }: { value: Role[]; onChange(roles: Role[]): void; legend: string }) {
  return <Checkboxes legend={legend} options={ROLE_OPTIONS} value={value} onChange={(ids) => onChange(ids as Role[])} />;
}

function CreateUserForm({ faculty }: { faculty: UserFieldsFragment[] }) {
  const id = useId();
  const [create, { loading }] = useMutation(CreateUserDocument, { refetchQueries: REFRESH });
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [roles, setRoles] = useState<Role[]>(["FACULTY"]);
  const [supports, setSupports] = useState<string[]>([]);
  const { error, setError, fieldError, onEdit } = useFormError();
  const [done, setDone] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    if (roles.length === 0) {
      setError({ code: "BAD_USER_INPUT", field: "roles", message: "Roles: choose at least one." });
      return;
    }
    try {
      await create({
        variables: {
          input: { name: name.trim(), email: email.trim(), password, roles, supportsIds: roles.includes("FSS") ? supports : [] },
        },
      });
      setDone(`Added ${name.trim()}.`);
      setName("");
      setEmail("");
      setPassword("");
      setSupports([]);
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <form className="panel" onSubmit={submit} onChange={onEdit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Add a user</h3>
      <div className="grid">
        <Field id={`${id}-name`} label="Name" error={fieldError("name")}>
          <input id={`${id}-name`} name="name" value={name} onChange={(e) => setName(e.target.value)} required autoComplete="off" />
        </Field>
        <Field id={`${id}-email`} label="Email" error={fieldError("email")}>
          <input id={`${id}-email`} name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoComplete="off" />
        </Field>
        <Field id={`${id}-password`} label="Initial password" error={fieldError("password")}>
          <input
            id={`${id}-password`}
            name="password"
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            autoComplete="new-password"
          />
        </Field>
      </div>
      <RoleBoxes legend="Roles" value={roles} onChange={setRoles} />
      {fieldError("roles") && <small className="field-error">{fieldError("roles")}</small>}
      {roles.includes("FSS") && (
        <Checkboxes
          legend="Supports (faculty members this person acts for)"
          options={faculty}
          value={supports}
          onChange={setSupports}
        />
      )}
      <FormError error={error} />
      <div className="buttons">
        <button type="submit" className="primary" disabled={loading}>
          {loading ? "Adding…" : "Add user"}
        </button>
      </div>
      {done && <Notice onDone={() => setDone(null)}>{done}</Notice>}
    </form>
  );
}

function UserRow({ user, editing, onEdit }: { user: UserFieldsFragment; editing: boolean; onEdit(on: boolean): void }) {
  const me = useMe();
  const id = useId();
  const [update, { loading }] = useMutation(UpdateUserDocument, { refetchQueries: REFRESH });
  const [roles, setRoles] = useState<Role[]>(user.roles);
  const [password, setPassword] = useState("");
  const { error, setError, fieldError, onEdit: onInput } = useFormError();

  const save = async (input: { roles?: Role[]; active?: boolean; password?: string }) => {
    setError(null);
    try {
      await update({ variables: { input: { id: user.id, ...input } } });
      setPassword("");
      onEdit(false);
    } catch (err) {
      setError(describeError(err));
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void save({ roles, ...(password ? { password } : {}) });
  };

  return (
    <>
      <tr className={user.active ? undefined : "inactive"}>
        <td data-label="Name">{user.name}</td>
        <td data-label="Email">{user.email}</td>
        <td data-label="Roles">{user.roles.map((r) => ROLE_LABELS[r]).join(", ")}</td>
        <td data-label="Status">{user.active ? "Active" : "Deactivated"}</td>
        <td className="actions" data-label="Actions">
          <button type="button" onClick={() => onEdit(!editing)} aria-expanded={editing}>
            Edit
          </button>
          {user.id !== me.id && (
            <button type="button" disabled={loading} onClick={() => void save({ active: !user.active })}>
              {user.active ? "Deactivate" : "Reactivate"}
            </button>
          )}
          {error && !editing && <ErrorNotice error={error} />}
        </td>
      </tr>
      {editing && (
        <tr>
          <td colSpan={5}>
            <form className="panel" onSubmit={submit} onChange={onInput} aria-label={`Edit ${user.name}`}>
              <RoleBoxes legend={`Roles of ${user.name}`} value={roles} onChange={setRoles} />
              <Field id={`${id}-password`} label="New password (leave empty to keep)" error={fieldError("password")}>
                <input
                  id={`${id}-password`}
                  name="password"
                  type="password"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  autoComplete="new-password"
                />
              </Field>
              {error && error.field !== "password" && <ErrorNotice error={error} />}
              <div className="buttons">
                <button type="submit" className="primary" disabled={loading}>
                  {loading ? "Saving…" : "Save"}
                </button>
                <button type="button" onClick={() => onEdit(false)}>
                  Cancel
                </button>
              </div>
            </form>
          </td>
        </tr>
      )}
    </>
  );
}
