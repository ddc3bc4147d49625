import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cgroupPaths, containerOfCgroupPath, parseCgroupContainer, type CgroupContainer } from '../../src/containers/cgroup-container.js';
import { fixture } from '../helpers/fixtures.js';

const pod = (id: string, runtime: CgroupContainer['runtime'], podUid: string | null = null): CgroupContainer => ({ id, runtime, podUid });

/** Every file in test/fixtures/cgroup and what it must give. */
const EXPECTED: Record<string, CgroupContainer | null> = {
  // captured from a container of Debian's docker.io 20.10 (cgroupfs driver, hybrid v1 + v2)
  'docker-cgroupfs-hybrid': pod('a0107447dd9171b211efa3b030a9c6479e9708e0a4c440c094fd8a6d4ca2fb86', 'docker'),
  // Ubuntu 20.04 hybrid: the v2 line is containerd.service's, the v1 lines the container's
  'docker-cgroupfs-v1': pod('c648e3b14e20c7b67adbe156cb6e07d6e948c06df7ea5fab4a35e49c571e9666', 'docker'),
  'docker-systemd-v1': pod('ddc5195590b71c5fcc6510bd203d45ffa6dd6bfbf2105ed500eb3d557b8ee036', 'docker'),
  'docker-systemd-v2': pod('7ef3cdda54a21bdf406488baa79965419212a4842b790c09c67a779a3c36713f', 'docker'),
  'podman-v2': pod('6d07066b451d7d75ed16891a7a543123ff15656c1f86207ecaa6457732a0a656', 'podman'),
  'podman-split-v2': pod('6d07066b451d7d75ed16891a7a543123ff15656c1f86207ecaa6457732a0a656', 'podman'),
  'podman-pod-v2': pod('39f576dc656cf43de03bd93e10b01e11069ee6a766698bf7198ea544a066d61d', 'podman'),
  'podman-rootless-v2': pod('7075d1a9ebdb835f24c599e0b08647e3766e33f6103db56de806c854e4c18baa', 'podman'),
  'podman-cgroupfs-v1': pod('5fc1313a53cf486ab8376d7d7eb0143ae8e478a4aa6e4c72efcfb6459ec2ea65', 'podman'),
  'nerdctl-v2': pod('58771495814a3b8278c6d11d56067988c207b0fb698f21c7fc062ac3494f2554', 'containerd'),
  'k8s-cgroupfs-v1': pod(
    '6691c673ab7d69391904fa67e3e052fd3287b6290ab5a2da15d1ac3cff9c753b',
    'kubernetes',
    '76ac2aec-017a-42fd-a113-cd05d377e912',
  ),
  'k8s-guaranteed-cgroupfs-v1': pod(
    '1c1bd7d54031deffbb91ecb44f63a13acb69cac3dda735b32eae5e4062ea6a3e',
    'kubernetes',
    'b173a795-13e1-4308-8d40-865e0cd145d4',
  ),
  'k8s-containerd-colon-v1': pod(
    'a2c4b9200f5f23d993c7feaf8de32f19a3889e9e0d5f1826da9ac37849d4c297',
    'containerd',
    '658e0ca4-ba4d-4f5c-a131-0675ff6cca2e',
  ),
  'k8s-containerd-systemd-v1': pod(
    'c648e3b14e20c7b67adbe156cb6e07d6e948c06df7ea5fab4a35e49c571e9666',
    'containerd',
    'a3d8afb8-ef74-4808-bc30-b0c91c0c9642',
  ),
  'k8s-containerd-systemd-v2': pod(
    'ddc5195590b71c5fcc6510bd203d45ffa6dd6bfbf2105ed500eb3d557b8ee036',
    'containerd',
    '76ac2aec-017a-42fd-a113-cd05d377e912',
  ),
  'k8s-crio-v2': pod('7ef3cdda54a21bdf406488baa79965419212a4842b790c09c67a779a3c36713f', 'cri-o', 'b173a795-13e1-4308-8d40-865e0cd145d4'),
  'k8s-static-pod-v2': pod(
    '6d07066b451d7d75ed16891a7a543123ff15656c1f86207ecaa6457732a0a656',
    'containerd',
    '8d5f5e4b6c2a8e9d0f1a2b3c4d5e6f70',
  ),
  'k8s-dockershim-guaranteed-v2': pod(
    '39f576dc656cf43de03bd93e10b01e11069ee6a766698bf7198ea544a066d61d',
    'docker',
    '658e0ca4-ba4d-4f5c-a131-0675ff6cca2e',
  ),
  // kind: a pod's container inside a node that is itself a docker container — the innermost wins
  'kind-v2': pod('5fc1313a53cf486ab8376d7d7eb0143ae8e478a4aa6e4c72efcfb6459ec2ea65', 'containerd', 'a3d8afb8-ef74-4808-bc30-b0c91c0c9642'),
  'docker-in-docker-v2': pod('6691c673ab7d69391904fa67e3e052fd3287b6290ab5a2da15d1ac3cff9c753b', 'docker'),
  // read from inside another container's cgroup namespace: the systemd shape still names the runtime
  'cgroupns-sibling-systemd-v2': pod('1c1bd7d54031deffbb91ecb44f63a13acb69cac3dda735b32eae5e4062ea6a3e', 'docker'),
  // …the cgroupfs shape does not (`/../<id>`): never guessed
  'cgroupns-sibling-cgroupfs-v2': null,
  'cgroupns-own-root-v2': null,
  'podman-conmon-v2': null,
  'k8s-crio-conmon-v2': null,
  'k8s-pod-slice-only-v2': null,
  'systemd-service-v2': null,
  'systemd-init-v2': null,
  'docker-daemon-v2': null,
  'user-session-v1': null,
  'containerd-daemon-v1': null,
  'nspawn-v2': null,
  'lxc-v1': null,
  'lxc-v2': null,
  'custom-parent-v2': null,
  'ecs-v2': null,
  // v1 controllers naming two different containers: no answer rather than a guess
  'conflicting-v1': null,
};

describe('parseCgroupContainer on real cgroup files', () => {
  it('has an expectation for every fixture', () => {
    const files = readdirSync(new URL('../fixtures/cgroup/', import.meta.url)).sort();
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });
  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(name, () => {
      expect(parseCgroupContainer(fixture(`cgroup/${name}`))).toEqual(expected);
    });
  }
});

describe('parseCgroupContainer', () => {
  const id = 'c648e3b14e20c7b67adbe156cb6e07d6e948c06df7ea5fab4a35e49c571e9666';

  it('reads the path after the second colon, colons included', () => {
    expect(cgroupPaths('1:name=systemd:/a:b:c\n0::/x\r\njunk\n2:cpu:relative\n')).toEqual(['/a:b:c', '/x']);
  });
  it('takes the precise runtime when v1 lines name the same container in two shapes', () => {
    const text = [
      `2:memory:/kubepods/burstable/pod76ac2aec-017a-42fd-a113-cd05d377e912/${id}`,
      `1:name=systemd:/kubepods-burstable-pod76ac2aec_017a_42fd_a113_cd05d377e912.slice:cri-containerd:${id}`,
    ].join('\n');
    expect(parseCgroupContainer(text)).toEqual(pod(id, 'containerd', '76ac2aec-017a-42fd-a113-cd05d377e912'));
  });
  it('refuses ids that are not 64 lowercase hex digits', () => {
    expect(containerOfCgroupPath(`/docker/${id.slice(1)}`)).toBeNull();
    expect(containerOfCgroupPath(`/docker/${id.toUpperCase()}`)).toBeNull();
    expect(containerOfCgroupPath(`/system.slice/docker-${id}0.scope`)).toBeNull();
    expect(containerOfCgroupPath(`/system.slice/docker-${id}.service`)).toBeNull();
  });
  it('needs a kubepods ancestor for the cgroupfs pod shape, and an unknown colon prefix is nothing', () => {
    expect(containerOfCgroupPath(`/pod76ac2aec-017a-42fd-a113-cd05d377e912/${id}`)).toBeNull();
    expect(containerOfCgroupPath(`/kubepods-pod76ac2aec_017a_42fd_a113_cd05d377e912.slice:other:${id}`)).toBeNull();
  });
  it('ignores `.` and empty components', () => {
    expect(containerOfCgroupPath(`//docker/./${id}/`)).toEqual(pod(id, 'docker'));
  });
  it('refuses a text far larger than any cgroup file', () => {
    expect(parseCgroupContainer(`0::/docker/${id}\n`.repeat(1000))).toBeNull();
  });
  it('never throws, and whatever it returns is well formed', () => {
    const component = fc.oneof(
      fc.constantFrom('docker', 'kubepods', 'kubepods.slice', '..', '.', 'pod76ac2aec-017a-42fd-a113-cd05d377e912', `docker-${id}.scope`),
      fc.constantFrom(`libpod-${id}`, `kubepods-pod76ac2aec_017a_42fd_a113_cd05d377e912.slice:crio:${id}`, id, 'libpod-conmon-x'),
      fc.string(),
    );
    const line = fc
      .tuple(fc.nat(20), fc.string(), fc.array(component, { maxLength: 8 }))
      .map(([n, c, parts]) => `${n}:${c}:/${parts.join('/')}`);
    const text = fc.oneof(
      fc.string(),
      fc.array(line, { maxLength: 14 }).map((ls) => ls.join('\n')),
    );
    fc.assert(
      fc.property(text, (t) => {
        const r = parseCgroupContainer(t);
        return r === null || (/^[0-9a-f]{64}$/.test(r.id) && typeof r.runtime === 'string' && (r.podUid === null || r.podUid.length >= 32));
      }),
      { numRuns: 2000 },
    );
  });
});
