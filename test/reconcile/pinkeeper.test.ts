// The daemon's PinKeeper holds every pinned program through its data path,
// also one an apply worker loaded after the daemon opened it (the endpoint
// XDP programs are loaded when first attached), and pins it again when its
// pin is gone.
import { unlinkSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pinExists, Program } from '../../src/bpf/index.js';
import { Datapath, ProgName } from '../../src/datapath/index.js';
import { PinKeeper } from '../../src/reconcile/pinkeeper.js';
import { TempBpffs } from '../helpers/bpffs.js';
import { describeKernel } from '../helpers/kernel.js';

describeKernel('pin keeper and programs loaded later', () => {
  let fs: TempBpffs;
  let first: Datapath;
  const pinDir = () => fs.path('keep');
  beforeAll(async () => {
    fs = new TempBpffs();
    first = await Datapath.load({ programs: [ProgName.tcEndpoint] });
    first.pin(pinDir());
  });
  afterAll(() => {
    first?.close();
    Datapath.unpin(pinDir());
    fs?.destroy();
  });

  it('re-pins a program loaded by another process after the daemon opened the pins', () => {
    const daemon = Datapath.open(pinDir());
    const keeper = new PinKeeper(pinDir());
    try {
      expect(daemon.programs.has(ProgName.xdpEndpoint)).toBe(false);
      const id = first.program(ProgName.xdpEndpoint).id; // the "worker" loads and pins it
      first.close();
      keeper.hold(daemon);
      expect(daemon.programs.get(ProgName.xdpEndpoint)?.id).toBe(id);
      const pin = `${pinDir()}/progs/${ProgName.xdpEndpoint}`;
      unlinkSync(pin);
      expect(pinExists(pin)).toBe(false);
      expect(keeper.repin(daemon)).toBe(true);
      const back = Program.open(pin);
      try {
        expect(back.id).toBe(id);
      } finally {
        back.close();
      }
    } finally {
      keeper.close();
      daemon.close();
    }
  });
});
