#!/usr/bin/python3
"""opt_diff.py SEED COUNT - differential testing of the optimization passes.

Generates COUNT random but well-typed programs (loops with carried values,
accumulations, stacked writes, nested loops, lookups, matrix products,
softmax nodes), runs each with `nngc run` at -O0, -O1 and -O2 on the same
inputs and seed, and compares every output, the loss and every gradient
(--grads) with npycmp. Prints each failing program. A developer tool
(needs NumPy): not part of make test.
"""
import random, subprocess, sys, os, shutil
import numpy as np
rs=int(sys.argv[1]); random.seed(rs); N=int(sys.argv[2])
ROOT=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NNGC=os.path.join(ROOT,'build','nngc'); CMP=os.path.join(ROOT,'build','npycmp')
import tempfile
W=tempfile.mkdtemp(prefix='nngc-optdiff-')
r=np.random.default_rng(rs)
np.save(W+'/xs.npy', r.standard_normal((5,4)).astype(np.float32))
np.save(W+'/ids.npy', r.integers(0,4,size=5).astype(np.int32))
def vexpr(d, names):
    if d<=0 or random.random()<0.3:
        return random.choice(names+['xs[t]','E[ids[t]]','V'])
    k=random.randrange(11)
    a=lambda: vexpr(d-1,names)
    return ['W @ %s'%a(),'(%s + %s)'%(a(),a()),'tanh(%s)'%a(),'(%s * V)'%a(),'sigmoid(%s)'%a(),
            '(%s - %s)'%(a(),a()),'relu(%s)'%a(),'softmax(%s)'%a(),'(%s * 0.5)'%a(),'transpose(W) @ %s'%a(),
            '%s @ W'%a()][k]
def sexpr(names):
    k=random.randrange(5); a=lambda: vexpr(2,names)
    return ['dot(%s, %s)'%(a(),a()),'sum(%s)'%a(),'mean(%s)'%a(),'cross_entropy(%s, ids[t])'%a(),'sum(log_softmax(%s))'%a()][k]
bad=0; compared=0
for it in range(N):
    carried=random.random()<0.6
    lines=['model fz','dim D = 4','dim T max 5','param W : [D, D]','param V : [D] init uniform(-1, 1)','param E : [7, D]',
           'input xs : [T, D]','input ids : int[T]','output h']
    stack=random.random()<0.4
    if stack: lines.append('output hs')
    lines.append('h = %s'%random.choice(['zeros([D])','V','tanh(V)']))
    lo=random.choice(['0','1'])
    lines.append('for t in %s..T {'%lo)
    names=['h']
    lines.append('  a = %s'%vexpr(2,names)); names.append('a')
    if carried: lines.append(random.choice(['  h = tanh(%s)','  h = h + %s','  h = %s + h'])%vexpr(2,names))
    lines.append('  loss += %s'%sexpr(names))
    if random.random()<0.3:
        lines.append('  for j in 0..T {'); lines.append('    loss += dot(%s, xs[j])'%vexpr(1,names)); lines.append('  }')
    if stack: lines.append('  hs[t] = %s'%vexpr(1,names))
    lines.append('}')
    src='\n'.join(lines)+'\n'
    open(W+'/m.nn','w').write(src)
    outs=[]
    for O in ['-O0','-O1','-O2']:
        od=W+'/o'+O
        subprocess.run(['rm','-rf',od])
        p=subprocess.run([NNGC,'run',W+'/m.nn','--input','xs='+W+'/xs.npy','--input','ids='+W+'/ids.npy','--out',od,O,'--seed','3',
                          '--grads',od+'/grads'],capture_output=True,timeout=60)
        if p.returncode!=0:
            print('FAIL',O,it,p.returncode,p.stderr.decode()[-400:]); print(src); bad+=1; break
        outs.append(od)
    else:
        files=[f for f in os.listdir(outs[0]) if f!='grads']+['grads/'+f for f in os.listdir(outs[0]+'/grads')]
        for f in files:
            for od in outs[1:]:
                compared+=1
                c=subprocess.run([CMP,os.path.join(outs[0],f),os.path.join(od,f),'--rtol','1e-4','--atol','1e-5'],capture_output=True)
                if c.returncode!=0:
                    print('DIFF',od,f,it,c.stdout.decode()[:300]); print(src); bad+=1
print('done', bad, 'differences;', compared, 'files compared')
shutil.rmtree(W, ignore_errors=True)
