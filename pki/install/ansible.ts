/**
 * The Ansible hand-off: the same per-host file sets as an inventory, host_vars, the staged
 * files and a playbook that copies them with their modes (owner root), for fleets already run
 * with Ansible/AWX. Directory modes follow the SSH sink: the directories that hold the files
 * get the planner's modes (0700 where a private file lies), directories above them are only
 * created when missing. The playbook never prints file contents (`diff: false`).
 */
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { directoryModes } from '../sinks/changes.js';
import { coveringDirs } from '../sinks/ssh.js';
import type { SshTarget } from '../sinks/ssh-transport.js';
import type { HostFileSet } from './install.js';

export interface AnsibleOptions {
  /** How each node is reached (its `ansible_host`, port, user, key). */
  readonly target: (node: string) => SshTarget;
  /** Inventory groups of a node (its roles); default none. */
  readonly groups?: (node: string) => readonly string[];
  /**
   * The node's systemd units in start order, each with the paths of the set whose change
   * restarts it (kpki install's mapping); absent: the playbook only copies.
   */
  readonly units?: (node: string) => ReadonlyArray<{ readonly unit: string; readonly inputs: readonly string[] }>;
}

const octal = (m: number) => `0${m.toString(8).padStart(3, '0')}`;

export const PLAYBOOK = `# Written by kpki: copies each host's staged files (files/<host>/...) with their modes, owner root.
- name: kpki files
  hosts: all
  gather_facts: false
  tasks:
    - name: Directories above the trees (created when missing, left as they are)
      ansible.builtin.file:
        path: "/{{ item }}"
        state: directory
      loop: "{{ kpki_parents }}"
    - name: Directories of the trees
      ansible.builtin.file:
        path: "/{{ item.path }}"
        state: directory
        mode: "{{ item.mode }}"
        owner: root
        group: root
      loop: "{{ kpki_dirs }}"
      loop_control:
        label: "{{ item.path }}"
    - name: Files
      ansible.builtin.copy:
        src: "{{ playbook_dir }}/files/{{ inventory_hostname }}/{{ item.path }}"
        dest: "/{{ item.path }}"
        mode: "{{ item.mode }}"
        owner: root
        group: root
        backup: true
      loop: "{{ kpki_files }}"
      loop_control:
        label: "{{ item.path }}"
      diff: false
      register: kpki_copied
    # What kpki install does after a change: reload systemd when a unit file changed, enable
    # the units whose unit file changed, restart the units whose inputs changed (the same
    # mapping, in host_vars kpki_units). Skipped in --check and with -e kpki_start=false.
    - name: Changed paths
      ansible.builtin.set_fact:
        kpki_changed: "{{ kpki_copied.results | selectattr('changed') | map(attribute='item.path') | list }}"
    - name: Reload systemd
      ansible.builtin.command: systemctl daemon-reload
      when: kpki_start | default(true) | bool and not ansible_check_mode and (kpki_changed | select('match', 'etc/systemd/system/') | list | length > 0)
    - name: Enable units whose unit file changed
      ansible.builtin.command: "systemctl enable {{ item.unit }}"
      loop: "{{ kpki_units | default([]) }}"
      loop_control:
        label: "{{ item.unit }}"
      when: kpki_start | default(true) | bool and not ansible_check_mode and ('etc/systemd/system/' ~ item.unit) in kpki_changed
    - name: Restart units whose inputs changed
      ansible.builtin.command: "systemctl restart --no-block {{ item.unit }}"
      loop: "{{ kpki_units | default([]) }}"
      loop_control:
        label: "{{ item.unit }}"
      when: kpki_start | default(true) | bool and not ansible_check_mode and (kpki_changed | intersect(item.inputs) | length > 0)
`;

/** The hand-off as files: relative path → content and mode (0600: the staged files hold keys). */
export function ansibleFiles(sets: readonly HostFileSet[], o: AnsibleOptions): Map<string, { content: string; mode: number }> {
  const { stringify } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const out = new Map<string, { content: string; mode: number }>();
  const hosts: Record<string, Record<string, string | number | boolean>> = {};
  const groups: Record<string, { hosts: Record<string, null> }> = {};
  for (const set of sets) {
    const t = o.target(set.host);
    const user = t.user ?? 'root';
    hosts[set.host] = {
      ansible_host: t.host,
      ...(t.port !== undefined ? { ansible_port: t.port } : {}),
      ansible_user: user,
      ...(t.identityFile !== undefined ? { ansible_ssh_private_key_file: t.identityFile } : {}),
      ...(user !== 'root' ? { ansible_become: true } : {}),
    };
    for (const g of o.groups?.(set.host) ?? []) (groups[g.replace(/-/g, '_')] ??= { hosts: {} }).hosts[set.host] = null;
    const covering = coveringDirs(set.files.map((f) => f.path));
    const inTrees = (d: string) => covering.some((c) => d === c || d.startsWith(`${c}/`));
    const modes = directoryModes(set.files);
    const dirs = [...modes].filter(([d]) => inTrees(d)).sort(([a], [b]) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
    const parents = [...modes.keys()].filter((d) => !inTrees(d)).sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
    out.set(`host_vars/${set.host}.yml`, {
      mode: 0o600,
      content: stringify({
        kpki_parents: parents,
        kpki_dirs: dirs.map(([path, mode]) => ({ path, mode: octal(mode) })),
        kpki_files: set.files.map((f) => ({ path: f.path, mode: octal(f.mode) })),
        ...(o.units ? { kpki_units: o.units(set.host).map((u) => ({ unit: u.unit, inputs: [...u.inputs] })) } : {}),
      }),
    });
    for (const f of set.files) out.set(`files/${set.host}/${f.path}`, { content: f.content, mode: 0o600 });
  }
  out.set('inventory.yml', { mode: 0o600, content: stringify({ all: { hosts, ...(Object.keys(groups).length ? { children: groups } : {}) } }) });
  out.set('playbook.yml', { mode: 0o600, content: PLAYBOOK });
  out.set('ansible.cfg', { mode: 0o600, content: '[defaults]\ninventory = inventory.yml\n\n[ssh_connection]\npipelining = True\n' });
  return out;
}

/** Writes the hand-off into `dir` (created 0700; every file 0600). */
export function writeAnsible(dir: string, sets: readonly HostFileSet[], o: AnsibleOptions): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  for (const [rel, f] of ansibleFiles(sets, o)) {
    const p = join(dir, rel);
    fs.mkdirSync(dirname(p), { recursive: true, mode: 0o700 });
    fs.writeFileSync(p, f.content, { mode: f.mode });
    fs.chmodSync(p, f.mode);
  }
}
