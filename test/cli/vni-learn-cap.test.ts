// A VNI added live (`xvtep vni add`, a -batch line) gets the per-VNI learn
// cap a file's VNI without maxLearned gets (capacity.fdb / 16), or the one
// `maxlearned N` names (0: none): the data path stops learning there, counts
// learn_limit for each new MAC it refused, and `fdb show`, `status` and
// `vni show` say learned and limit. Frames with distinct source MACs are
// sent from the container side through an AF_PACKET socket (macflood.py).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Datapath, EVENTS } from '../../src/datapath/index.js';
import { describeKernel } from '../helpers/kernel.js';
import { root } from '../helpers/fixtures.js';
import { EtherType, Proto, eth, fill, ipv4, udp } from '../helpers/packets.js';
import { VtepLab } from '../helpers/vtep-lab.js';

const FDB = 1024; // default per-VNI cap: 64
const FRAMES = 500;

describeKernel('per-VNI learn cap of VNIs added live', () => {
  let L: VtepLab;
  beforeAll(() => {
    L = new VtepLab('vlc', { ipv6: false });
    for (const n of [2, 3, 4]) {
      L.endpoint(`epa${n}`, `ca${n}`);
      L.lab.exec(L.c, 'ip', 'link', 'set', `ca${n}`, 'up');
    }
    const r = L.cli(['attach', '-c', L.file('xvtep.json', L.config({ capacity: { fdb: FDB } }))]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => L?.destroy());

  /** FRAMES frames out of `iface` in namespace c, each with another source MAC; returns how many the kernel took. */
  const flood = (iface: string) => {
    const frame = eth('02:15:ff:ff:ff:01', '02:66:00:00:00:00', EtherType.IPV4, ipv4({
      src: '198.51.100.66', dst: '198.51.100.99', proto: Proto.UDP, payload: udp({ sport: 6666, dport: 6666, payload: fill(18) }),
    }));
    const r = spawnSync('ip', ['netns', 'exec', L.c, 'python3', join(root, 'test', 'reliability', 'macflood.py'), iface, frame.toString('hex'), String(FRAMES), '30'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as { sent: number; refused: number };
    return o.sent - o.refused;
  };
  const learnLimit = (vni: number) => {
    const dp = Datapath.open(L.pinDir);
    try {
      return dp.readStats(dp.vnis.get(vni)!.statsSlot).event[EVENTS.indexOf('learn_limit')]!;
    } finally {
      dp.close();
    }
  };
  const vnis = () => L.json<Array<{ vni: number; maxLearned: number }>>('vni', 'show');

  it('vni add: the default cap (capacity.fdb / 16), enforced by the data path and shown by fdb show and status', () => {
    L.ok('vni', 'add', '43', 'endpoint', 'epa2');
    expect(vnis().find((v) => v.vni === 43)?.maxLearned).toBe(FDB / 16);
    const took = flood('ca2');
    expect(took).toBeGreaterThan(FDB / 16);
    expect(L.ok('fdb', 'show', 'vni', '43')).toMatch(new RegExp(`^# vni 43: ${FDB / 16} learned of at most ${FDB / 16}$`, 'm'));
    expect(learnLimit(43)).toBe(took - FDB / 16);
    expect(L.ok('status')).toMatch(new RegExp(`^43 +\\d+ +on +${FDB / 16}/${FDB / 16} `, 'm'));
    const st = L.json<{ vnis: Array<{ vni: number; learned: number; maxLearned: number }> }>('status');
    expect(st.vnis.find((v) => v.vni === 43)).toMatchObject({ learned: FDB / 16, maxLearned: FDB / 16 });
  });

  it('a -batch line with maxlearned N: that cap; maxlearned 0: none (only the total cap)', () => {
    const file = L.file('edits.batch', 'vni add 44 endpoint epa3 maxlearned 10\nvni add 45 endpoint epa4 maxlearned 0\n');
    const r = L.cli(['-batch', file, '--pin-dir', L.pinDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(vnis().filter((v) => v.vni >= 44).map((v) => [v.vni, v.maxLearned])).toEqual([[44, 10], [45, 0]]);
    const took44 = flood('ca3');
    expect(L.ok('fdb', 'show', 'vni', '44')).toMatch(/^# vni 44: 10 learned of at most 10$/m);
    expect(learnLimit(44)).toBe(took44 - 10);
    // no per-VNI cap: every distinct MAC learned (far below the total cap)
    const took45 = flood('ca4');
    expect(L.json<Array<{ type: string }>>('fdb', 'show', 'vni', '45').filter((e) => e.type === 'learned')).toHaveLength(took45);
    expect(learnLimit(45)).toBe(0);
  });

  it('a bad maxlearned is one line, exit 1, nothing added', () => {
    for (const v of ['x', '1.5', String((1 << 24) + 1)]) {
      const r = L.cli(['vni', 'add', '46', 'endpoint', 'epa4', 'maxlearned', v, '--pin-dir', L.pinDir]);
      expect(r.code, v).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/vni add: maxlearned .* is not 0\.\.16777216 \(0: no per-VNI cap\)/);
    }
    expect(vnis().some((v) => v.vni === 46)).toBe(false);
  });
});
